/* Opening the stdio ends on the helper side (host paths, before any namespace). */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int
open_fifo_reader (const char *path, berth_error_t *err)
{
  /* Non-blocking: no writer yet must not block us; poll reports data or HUP later. */
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errno, "open stdin fifo `%s`", path);
  return fd;
}

static int
open_out (const struct plan_stdio *s, int *child, int *hold, berth_error_t *err)
{
  if (s->kind == STDIO_FILE)
    {
      *child = open (s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
      if (*child < 0)
        return berth_error (err, errno, "open log file `%s`", s->path);
      return 0;
    }
  /* O_RDWR never blocks on a FIFO; holding it lets the writer open without a reader. */
  *hold = open (s->path, O_RDWR | O_CLOEXEC);
  if (*hold < 0)
    return berth_error (err, errno, "open fifo `%s`", s->path);
  *child = open (s->path, O_WRONLY | O_CLOEXEC);
  if (*child < 0)
    return berth_error (err, errno, "open fifo `%s` for writing", s->path);
  return 0;
}

/* Capture mode: the process writes into pipes the monitor reads (attach.c); with a terminal the
   pty master is read instead (wait_ready). stdin, when open, is a pipe the attachers feed. */
static int
capture_prepare (struct helper *h, berth_error_t *err)
{
  const struct plan *p = h->plan;
  struct stdio_state *io = &h->io;
  int pfd[2];
  if (p->terminal)
    return 0;
  if (p->capture.stdin_open)
    {
      if (pipe2 (pfd, O_CLOEXEC) < 0)
        return berth_error (err, errno, "stdin pipe");
      io->child[0] = pfd[0];
      io->in.dst = pfd[1];
      (void) fcntl (pfd[1], F_SETFL, O_NONBLOCK);
    }
  for (int i = 0; i < 2; i++)
    {
      if (pipe2 (pfd, O_CLOEXEC) < 0)
        return berth_error (err, errno, "%s pipe", i ? "stderr" : "stdout");
      io->cap[i] = pfd[0];
      io->child[i + 1] = pfd[1];
      (void) fcntl (pfd[0], F_SETFL, O_NONBLOCK);
    }
  return 0;
}

int
stdio_prepare (struct helper *h, berth_error_t *err)
{
  const struct plan *p = h->plan;
  struct stdio_state *io = &h->io;
  for (int i = 0; i < 3; i++)
    io->child[i] = io->hold[i] = -1;
  io->in.src = io->in.dst = io->out.src = io->out.dst = io->master = -1;
  io->cap[0] = io->cap[1] = -1;
  if (p->capture.on)
    return capture_prepare (h, err);

  if (p->stdio[0].kind == STDIO_FIFO)
    {
      int pfd[2];
      if ((io->in.src = open_fifo_reader (p->stdio[0].path, err)) < 0)
        return -1;
      if (!p->terminal)
        {
          if (pipe2 (pfd, O_CLOEXEC) < 0)
            return berth_error (err, errno, "stdin pipe");
          io->child[0] = pfd[0];
          io->in.dst = pfd[1];
          (void) fcntl (pfd[1], F_SETFL, O_NONBLOCK);
        }
    }
  else if (p->stdio[0].kind == STDIO_FILE)
    {
      io->child[0] = open (p->stdio[0].path, O_RDONLY | O_CLOEXEC);
      if (io->child[0] < 0)
        return berth_error (err, errno, "open stdin file `%s`", p->stdio[0].path);
    }

  if (p->terminal)
    {
      /* stdout and stderr are merged on the terminal; the monitor copies master -> stdout. */
      if (p->stdio[1].kind == STDIO_FILE || p->stdio[1].kind == STDIO_FIFO)
        {
          int child = -1;
          if (open_out (&p->stdio[1], &child, &io->hold[1], err) < 0)
            return -1;
          io->out.dst = child;
          (void) fcntl (child, F_SETFL, fcntl (child, F_GETFL) | O_NONBLOCK);
        }
      return 0;
    }
  for (int i = 1; i < 3; i++)
    if (p->stdio[i].kind != STDIO_NULL && open_out (&p->stdio[i], &io->child[i], &io->hold[i], err) < 0)
      return -1;
  return 0;
}

void
stdio_close_child_ends (struct helper *h)
{
  for (int i = 0; i < 3; i++)
    if (h->io.child[i] >= 0)
      {
        close (h->io.child[i]);
        h->io.child[i] = -1;
      }
}
