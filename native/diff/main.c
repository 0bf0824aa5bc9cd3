/* berth-diff: the changes of a container (or between two snapshots) as an uncompressed tar.
 *
 *   berth-diff --overlay UPPER        an overlay upper dir: its content is the change set
 *   berth-diff LOWER UPPER            two trees compared (containerd's walking differ)
 *
 * The tar goes to stdout; the last line on stderr is JSON: {"type":"done","entries":N,
 * "whiteouts":N} or {"type":"error","errno":E,"msg":"..."} (exit 1; 64 for bad usage). */
#include "diff.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
fail (struct diff *d, int code)
{
  char msg[1024];
  size_t o = 0;
  for (const char *s = d->err[0] ? d->err : strerror (errno); *s && o < sizeof (msg) - 8; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        msg[o++] = '\\', msg[o++] = (char) c;
      else if (c < 0x20)
        o += (size_t) snprintf (msg + o, sizeof (msg) - o, "\\u%04x", c);
      else
        msg[o++] = (char) c;
    }
  msg[o] = '\0';
  fprintf (stderr, "{\"type\":\"error\",\"errno\":%d,\"msg\":\"%s\"}\n", errno, msg);
  return code;
}

int
main (int argc, char **argv)
{
  static struct diff d;
  int ret, lfd = -1, ufd;
  signal (SIGPIPE, SIG_IGN);
  d.out = 1;
  if (argc == 3 && strcmp (argv[1], "--overlay") == 0)
    d.overlay = 1;
  else if (argc != 3 || argv[1][0] == '-')
    {
      errno = EINVAL;
      snprintf (d.err, sizeof (d.err), "usage: berth-diff --overlay UPPER | berth-diff LOWER UPPER");
      return fail (&d, 64);
    }
  if (!d.overlay && (lfd = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return diff_fail (&d, errno, "open `%s`", argv[1]), fail (&d, 1);
  if ((ufd = open (argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return diff_fail (&d, errno, "open `%s`", argv[2]), fail (&d, 1);
  ret = d.overlay ? walk_tree (&d, ufd, "") : walk_compare (&d, lfd, ufd, "");
  if (ret == 0 && tar_end (d.out) < 0)
    ret = diff_fail (&d, errno, "write the tar");
  if (ret < 0)
    return fail (&d, 1);
  fprintf (stderr, "{\"type\":\"done\",\"entries\":%llu,\"whiteouts\":%llu}\n", (unsigned long long) d.entries,
           (unsigned long long) d.whiteouts);
  return 0;
}
