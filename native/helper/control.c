/* Control socket requests (line protocol in PROTOCOL.md). */
#include "monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

void
control_reply (struct client *c, const char *json)
{
  char line[4096];
  size_t n = (size_t) snprintf (line, sizeof (line) - 1, "%s", json);
  line[n++] = '\n';
  if (send (c->fd, line, n, MSG_NOSIGNAL) != (ssize_t) n)
    client_close (c);
}

static void
reply_error (struct client *c, int e, const char *msg)
{
  char buf[512];
  snprintf (buf, sizeof (buf), "{\"ok\":false,\"errno\":%d,\"msg\":\"%s\"}", e, msg);
  control_reply (c, buf);
}

void
control_exit_fields (struct monitor *m, char *buf, size_t cap)
{
  snprintf (buf, cap, "\"pid\":%d,\"exit_status\":%d,\"exited_at_ns\":\"%lld%09ld\",\"oom_killed\":%s",
            (int) m->h->child, m->status, (long long) m->exited_at.tv_sec, m->exited_at.tv_nsec,
            m->oom ? "true" : "false");
}

static int
parse_int (const char *s, long min, long max, long *out)
{
  char *end;
  long v;
  if (s == NULL)
    return -1;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || *end || end == s || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

void
control_handle (struct monitor *m, struct client *c, char *line)
{
  struct helper *h = m->h;
  berth_error_t err;
  char buf[1024], *save = NULL;
  if (strncmp (line, "attach", 6) == 0 && (line[6] == ' ' || line[6] == '\0'))
    return attach_start (m, c, line + 6);
  char *cmd = strtok_r (line, " ", &save), *a1 = strtok_r (NULL, " ", &save), *a2 = strtok_r (NULL, " ", &save);
  long v1, v2;

  if (cmd == NULL)
    return reply_error (c, EINVAL, "empty request");
  if (strcmp (cmd, "state") == 0)
    {
      const char *st = m->exited ? "stopped" : (h->has_cgroup && cgroup_is_frozen (&h->cg)) ? "paused" : "running";
      if (m->exited)
        {
          char ex[256];
          control_exit_fields (m, ex, sizeof (ex));
          snprintf (buf, sizeof (buf), "{\"ok\":true,\"status\":\"%s\",%s}", st, ex);
        }
      else
        snprintf (buf, sizeof (buf), "{\"ok\":true,\"status\":\"%s\",\"pid\":%d}", st, (int) h->child);
      return control_reply (c, buf);
    }
  if (strcmp (cmd, "wait") == 0)
    {
      c->waiting = 1; /* answered by the monitor loop once the process has exited */
      return;
    }
  if (strcmp (cmd, "kill") == 0)
    {
      int all = a2 != NULL && strcmp (a2, "all") == 0;
      if (parse_int (a1, 1, 64, &v1) < 0 || (a2 != NULL && !all))
        return reply_error (c, EINVAL, "usage: kill <signal> [all]");
      if (m->exited)
        return reply_error (c, ESRCH, "process already exited");
      if (all && !h->has_cgroup)
        return reply_error (c, ENOTSUP, "no cgroup to signal");
      if (all ? cgroup_kill_all (&h->cg, (int) v1, &err) < 0 : kill (h->child, (int) v1) < 0)
        return reply_error (c, all ? err.status : errno, all ? "kill all failed" : "kill failed");
      /* A frozen task only dies once thawed (runc does the same). */
      if (!all && v1 == SIGKILL && h->has_cgroup && cgroup_is_frozen (&h->cg))
        (void) cgroup_freeze (&h->cg, 0, &err);
      return control_reply (c, "{\"ok\":true}");
    }
  if (strcmp (cmd, "resize") == 0)
    {
      struct winsize ws = { 0 };
      if (parse_int (a1, 1, 65535, &v1) < 0 || parse_int (a2, 1, 65535, &v2) < 0)
        return reply_error (c, EINVAL, "usage: resize <width> <height>");
      if (h->io.master < 0)
        return reply_error (c, ENOTTY, "process has no terminal");
      ws.ws_col = (unsigned short) v1;
      ws.ws_row = (unsigned short) v2;
      if (ioctl (h->io.master, TIOCSWINSZ, &ws) < 0)
        return reply_error (c, errno, "resize failed");
      return control_reply (c, "{\"ok\":true}");
    }
  if (strcmp (cmd, "close-stdin") == 0)
    {
      if (monitor_close_stdin (m) < 0)
        return reply_error (c, errno, "close-stdin failed");
      return control_reply (c, "{\"ok\":true}");
    }
  if (strcmp (cmd, "pause") == 0 || strcmp (cmd, "resume") == 0)
    {
      if (!h->has_cgroup)
        return reply_error (c, ENOTSUP, "no cgroup");
      if (m->exited)
        return reply_error (c, ESRCH, "process already exited");
      if (cgroup_freeze (&h->cg, cmd[0] == 'p', &err) < 0)
        return reply_error (c, err.status, "freezer failed");
      return control_reply (c, "{\"ok\":true}");
    }
  if (strcmp (cmd, "stats") == 0)
    {
      char st[768];
      if (!h->has_cgroup)
        return reply_error (c, ENOTSUP, "no cgroup");
      cgroup_stats (&h->cg, st, sizeof (st));
      snprintf (buf, sizeof (buf), "{\"ok\":true,\"stats\":%s}", st);
      return control_reply (c, buf);
    }
  reply_error (c, EINVAL, "unknown request");
}
