/* After exec: reap, copy stdio, watch OOM, answer the control socket, record the exit. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int
sock_path (struct helper *h, struct sockaddr_un *sa, berth_error_t *err)
{
  memset (sa, 0, sizeof (*sa));
  sa->sun_family = AF_UNIX;
  if ((size_t) snprintf (sa->sun_path, sizeof (sa->sun_path), "%s/%s", h->plan->state_dir, MONITOR_SOCK)
      >= sizeof (sa->sun_path))
    return berth_error (err, ENAMETOOLONG, "control socket path under `%s` is too long", h->plan->state_dir);
  return 0;
}

int
monitor_listen (struct helper *h, berth_error_t *err)
{
  struct sockaddr_un sa;
  int fd;
  /* A path in the 0700 state dir, never an abstract socket (CVE-2020-15257). */
  if (sock_path (h, &sa, err) < 0)
    return -1;
  (void) unlink (sa.sun_path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return berth_error (err, errno, "control socket");
  if (bind (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0 || chmod (sa.sun_path, 0600) < 0 || listen (fd, 16) < 0)
    {
      int saved = errno;
      close (fd);
      return berth_error (err, saved, "bind control socket `%s`", sa.sun_path);
    }
  return fd;
}

/* Copies what is available; returns 1 when the source is finished, -1 when the sink broke. */
static int
pump_step (struct pump *p)
{
  if (p->len == 0)
    {
      ssize_t n = read (p->src, p->buf, sizeof (p->buf));
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
      if (n <= 0)
        return 1; /* EOF, or EIO from a master whose slave is gone */
      p->len = (size_t) n;
      p->off = 0;
    }
  if (p->dst < 0)
    {
      p->len = 0; /* nobody to deliver to: discard */
      return 0;
    }
  ssize_t w = write (p->dst, p->buf + p->off, p->len - p->off);
  if (w < 0 && (errno == EAGAIN || errno == EINTR))
    return 0;
  if (w < 0)
    return -1;
  p->off += (size_t) w;
  if (p->off == p->len)
    p->len = 0;
  return 0;
}

/* Temp + rename, so a reader sees no half file. No fsync: exit.json lives in the runtime state dir
   (/run by default) and only has to outlive berthd and this monitor, not a reboot (which ends the
   container too). The two fsyncs sat on every Wait's critical path: 1.5 ms of 3.4 ms from start
   to the exit reply for `true` where the state dir is on ext4. */
static void
write_exit_file (struct monitor *m)
{
  char tmp[4096], path[4096], body[512], fields[256];
  int fd;
  size_t n;
  control_exit_fields (m, fields, sizeof (fields));
  n = (size_t) snprintf (body, sizeof (body), "{%s}\n", fields);
  snprintf (tmp, sizeof (tmp), "%s/%s.tmp", m->h->plan->state_dir, EXIT_FILE);
  snprintf (path, sizeof (path), "%s/%s", m->h->plan->state_dir, EXIT_FILE);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  if (write_all (fd, body, n) == 0 && close (fd) == 0)
    (void) rename (tmp, path);
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

void
monitor_unlink (struct helper *h)
{
  struct sockaddr_un sa;
  berth_error_t err;
  if (sock_path (h, &sa, &err) == 0)
    unlink (sa.sun_path);
}

static void on_client (struct monitor *m, struct client *c);
static void on_accept (struct monitor *m);

static void __attribute__ ((noreturn))
finish (struct monitor *m)
{
  struct helper *h = m->h;
  struct stdio_state *io = &h->io;
  struct sockaddr_un sa;
  berth_error_t err;
  char body[512], fields[256];

  if (h->has_cgroup && cgroup_oom_kills (&h->cg) > m->oom_base)
    m->oom = 1;
  control_exit_fields (m, fields, sizeof (fields));
  /* Capture mode: what is left in the pipes goes to the log and the attachers, then each
     attacher gets the exit, before any waiter is answered (a `run` then has all of its output). */
  if (h->plan->capture.on)
    {
      on_accept (m);
      for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->cl[i].fd >= 0 && !m->cl[i].attached)
          on_client (m, &m->cl[i]);
      capture_finish (m, fields);
    }
  /* Drain what the process wrote to the terminal, then close every write end we hold. */
  if (io->out.src >= 0)
    {
      (void) fcntl (io->out.src, F_SETFL, fcntl (io->out.src, F_GETFL) | O_NONBLOCK);
      for (int i = 0; i < 4096 && pump_step (&io->out) == 0; i++)
        if (io->out.len == 0 && errno == EAGAIN)
          break;
    }
  if (io->in.dst != io->master)
    close_fd (&io->in.dst);
  close_fd (&io->in.src);
  close_fd (&io->out.dst);
  for (int i = 0; i < 3; i++)
    close_fd (&io->hold[i]);
  close_fd (&io->master);
  for (int i = 0; i < 2; i++)
    if (io->cap[i] >= 0)
      close_fd (&io->cap[i]);
  snprintf (body, sizeof (body), "{\"ok\":true,%s}", fields);
  /* Take in what is already queued so no pending request sees a reset, and answer the waiters
     first: exit.json and the cgroup removal (0.5 ms and more on a busy disk) were on the path of
     every Tasks/Wait. A client that connects after this pass is reset when we exit and reads
     exit.json, which is written before that; containerd's runc removes the cgroup at delete. */
  on_accept (m);
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->cl[i].fd >= 0 && !m->cl[i].attached)
      on_client (m, &m->cl[i]);
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->cl[i].fd >= 0 && m->cl[i].waiting)
      control_reply (&m->cl[i], body);
  close_fd (&h->mnt_ns); /* the namespace's teardown runs here now, off the waiters' path */
  write_exit_file (m);
  if (h->owns_cgroup)
    cgroup_destroy (&h->cg, h->plan->cgroup_keep);
  if (sock_path (h, &sa, &err) == 0)
    unlink (sa.sun_path);
  _exit (0);
}

static void
reap (struct monitor *m)
{
  struct signalfd_siginfo si;
  int st;
  pid_t pid;
  while (read (m->sfd, &si, sizeof (si)) > 0)
    ;
  while ((pid = waitpid (-1, &st, WNOHANG)) > 0)
    if (pid == m->h->child && !m->exited)
      {
        m->exited = 1;
        m->status = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        clock_gettime (CLOCK_REALTIME, &m->exited_at);
      }
}

static void
on_client (struct monitor *m, struct client *c)
{
  ssize_t n = read (c->fd, c->buf + c->len, sizeof (c->buf) - 1 - c->len);
  char *nl;
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      client_close (c);
      return;
    }
  c->len += (size_t) n;
  c->buf[c->len] = '\0';
  while (c->fd >= 0 && !c->attached && (nl = memchr (c->buf, '\n', c->len)) != NULL)
    {
      char line[CLIENT_BUF];
      size_t l = (size_t) (nl - c->buf);
      memcpy (line, c->buf, l);
      line[l] = '\0';
      memmove (c->buf, nl + 1, c->len - l - 1);
      c->len -= l + 1;
      control_handle (m, c, line);
    }
  if (c->fd >= 0 && !c->attached && c->len == sizeof (c->buf) - 1)
    client_close (c); /* a line longer than any request */
}

static void
on_accept (struct monitor *m)
{
  int fd;
  while ((fd = accept4 (m->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0)
    {
      int placed = 0;
      for (int i = 0; i < MAX_CLIENTS && !placed; i++)
        if (m->cl[i].fd < 0)
          {
            client_close (&m->cl[i]);
            m->cl[i].fd = fd;
            placed = 1;
          }
      if (!placed)
        close (fd);
    }
}

void
monitor_run (struct helper *h, int lfd)
{
  static struct monitor m;
  struct stdio_state *io = &h->io;
  sigset_t mask;
  int devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);

  m.h = h;
  m.lfd = lfd;
  for (int i = 0; i < MAX_CLIENTS; i++)
    m.cl[i].fd = -1;
  m.log.fd = -1;
  if (h->plan->capture.on)
    logfile_open (&m.log, &h->plan->capture);
  /* The sync connection stays open as a client that already asked `wait`: the exit reaches the
     daemon on the connection it has. A `wait` sent over a fresh control connection after
     `started` lost the race against a short-lived process (`true`) about every time, and was
     then answered only by exit.json once this monitor was gone, ~2 ms later. */
  if (h->sync_fd >= 0)
    {
      (void) fcntl (h->sync_fd, F_SETFL, fcntl (h->sync_fd, F_GETFL) | O_NONBLOCK);
      m.cl[0].fd = h->sync_fd;
      m.cl[0].waiting = 1;
      h->sync_fd = -1;
    }
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  m.sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  m.oomfd = h->has_cgroup ? cgroup_oom_fd (&h->cg, &m.oom_v2) : -1;
  m.oom_base = h->has_cgroup && h->owns_cgroup ? 0 : (h->has_cgroup ? cgroup_oom_kills (&h->cg) : 0);
  if (devnull >= 0)
    {
      dup2 (devnull, 0), dup2 (devnull, 1), dup2 (devnull, 2);
      close (devnull);
    }
  if (chdir ("/") < 0)
    (void) 0;
  if (io->in.dst >= 0)
    (void) fcntl (io->in.dst, F_SETFL, fcntl (io->in.dst, F_GETFL) | O_NONBLOCK);
  /* Capture mode: attachers that connected before `start` are registered before any output is
     read, so they see all of it. */
  if (h->plan->capture.on)
    {
      on_accept (&m);
      for (int i = 0; i < MAX_CLIENTS; i++)
        if (m.cl[i].fd >= 0 && !m.cl[i].attached)
          on_client (&m, &m.cl[i]);
    }

  for (;;)
    {
      struct pollfd pf[7 + MAX_CLIENTS];
      int n = 0, ci[MAX_CLIENTS], timeout = -1;
      /* An attacher that reads but is behind pauses the reading of the output (attach.c). */
      int stalled = attach_stalled (&m, &timeout);
      reap (&m);
      if (m.exited)
        finish (&m);
      pf[n++] = (struct pollfd) { m.sfd, POLLIN, 0 };
      pf[n++] = (struct pollfd) { m.lfd, POLLIN, 0 };
      pf[n++] = (struct pollfd) { m.oomfd, (short) (m.oom_v2 ? POLLPRI : POLLIN), 0 };
      pf[n++] = (struct pollfd) { io->in.len ? io->in.dst : io->in.src, (short) (io->in.len ? POLLOUT : POLLIN), 0 };
      pf[n++] = (struct pollfd) { io->out.len ? io->out.dst : io->out.src, (short) (io->out.len ? POLLOUT : POLLIN), 0 };
      pf[n++] = (struct pollfd) { stalled ? -1 : io->cap[0], POLLIN, 0 };
      pf[n++] = (struct pollfd) { stalled ? -1 : io->cap[1], POLLIN, 0 };
      for (int i = 0; i < MAX_CLIENTS; i++)
        {
          short ev = m.cl[i].attached ? attach_poll_events (&m, &m.cl[i]) : POLLIN;
          ci[i] = -1;
          if (m.cl[i].fd >= 0 && ev != 0)
            {
              ci[i] = n;
              pf[n++] = (struct pollfd) { m.cl[i].fd, ev, 0 };
            }
        }
      if (poll (pf, (nfds_t) n, timeout) < 0)
        continue;
      if (pf[1].revents)
        on_accept (&m);
      if (pf[2].revents && pf[2].fd >= 0)
        {
          char b[64];
          if (m.oom_v2)
            (void) pread (m.oomfd, b, sizeof (b), 0);
          else if (read (m.oomfd, b, 8) == 8 && cgroup_oom_kills (&h->cg) > m.oom_base)
            m.oom = 1; /* the v1 eventfd also fires when the cgroup goes away */
          if (m.oom_v2 && cgroup_oom_kills (&h->cg) > m.oom_base)
            m.oom = 1;
        }
      if (pf[3].revents && pf[3].fd >= 0 && pump_step (&io->in) != 0)
        {
          /* stdin EOF (writer closed the FIFO) or a broken pipe: the process sees EOF. */
          close_fd (&io->in.src);
          if (io->in.dst != io->master)
            close_fd (&io->in.dst);
          io->in.len = 0;
        }
      if (m.in_close_pending && io->in.len == 0)
        (void) monitor_close_stdin (&m);
      if (pf[4].revents && pf[4].fd >= 0 && pump_step (&io->out) != 0)
        {
          io->out.src = -1; /* master stays open for resize; stop reading it */
          io->out.len = 0;
        }
      for (int i = 0; i < 2; i++)
        if (pf[5 + i].revents && pf[5 + i].fd >= 0)
          (void) capture_read (&m, i);
      for (int i = 0; i < MAX_CLIENTS; i++)
        {
          struct client *c = &m.cl[i];
          short rev = ci[i] >= 0 ? pf[ci[i]].revents : 0;
          if (rev == 0 || c->fd < 0)
            continue;
          if (!c->attached)
            on_client (&m, c);
          else
            {
              if (rev & POLLOUT)
                attach_on_writable (c);
              if (c->fd >= 0 && (rev & (POLLIN | POLLHUP | POLLERR)))
                attach_on_readable (&m, c);
            }
        }
    }
}
