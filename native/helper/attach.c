/* Capture mode: the monitor reads the process's stdout/stderr (or its pty) itself, writes them
 * to the json-file log and to every attached client, and feeds attachers' stdin to the process.
 * Frames on an attach connection (PROTOCOL.md): an 8-byte header {stream, 0, 0, 0, length u32
 * big-endian} and the payload; stream 0 stdin, 1 stdout, 2 stderr, 3 control/event.
 *
 * An attacher that reads gets every byte: when its socket is full the monitor stops reading the
 * process's output (the process then blocks on its pipe, as with Docker's attach) until the
 * attacher takes more. An attacher that makes no progress for ATTACH_STALL_MS is marked slow and
 * no longer holds anything up: output that does not fit its socket is dropped for it, counted,
 * and reported in a {"dropped":N} event; once it has caught up completely it is lossless again.
 * So one that never reads costs the container at most ATTACH_STALL_MS. The log keeps everything
 * regardless. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/sockios.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { FRAME_STDIN = 0, FRAME_STDOUT = 1, FRAME_STDERR = 2, FRAME_CONTROL = 3 };
#define FRAME_HDR 8
/* Room for the frames of one loop turn (stdout and stderr chunk, an event); kept per attacher
   only while its socket is full. */
#define PEND_MAX (4 * (FRAME_HDR + PUMP_BUF))

void
client_close (struct client *c)
{
  if (c->fd >= 0)
    close (c->fd);
  free (c->pend);
  memset (c, 0, sizeof (*c));
  c->fd = -1;
}

static void
put_header (unsigned char *h, int stream, size_t len)
{
  h[0] = (unsigned char) stream;
  h[1] = h[2] = h[3] = 0;
  h[4] = (unsigned char) (len >> 24), h[5] = (unsigned char) (len >> 16);
  h[6] = (unsigned char) (len >> 8), h[7] = (unsigned char) len;
}

/* Keeps bytes [from, FRAME_HDR + len) of a frame in c->pend; -1 when it does not fit. */
static int
keep (struct client *c, const unsigned char *h, const char *data, size_t len, size_t from)
{
  size_t need = FRAME_HDR + len - from;
  if (c->pend == NULL && (c->pend = malloc (PEND_MAX)) == NULL)
    return -1;
  if (c->pend_off > 0)
    {
      memmove (c->pend, c->pend + c->pend_off, c->pend_len - c->pend_off);
      c->pend_len -= c->pend_off;
      c->pend_off = 0;
    }
  if (PEND_MAX - c->pend_len < need)
    return -1;
  for (size_t done = from; done < FRAME_HDR + len; done++)
    c->pend[c->pend_len++] = done < FRAME_HDR ? (char) h[done] : data[done - FRAME_HDR];
  return 0;
}

/* Sends one whole frame or keeps (the rest of) it in c->pend; returns 0 (sent or kept), 1 when
   it was dropped, -1 when the client is gone. A frame is never cut: a half frame would turn the
   rest of the stream into garbage. */
static int
send_frame (struct client *c, int stream, const char *data, size_t len)
{
  unsigned char h[FRAME_HDR];
  struct iovec iov[2] = { { h, FRAME_HDR }, { (void *) data, len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
  ssize_t w = 0;
  put_header (h, stream, len);
  if (c->pend_len == c->pend_off)
    {
      w = sendmsg (c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
      if (w < 0)
        w = 0;
      if ((size_t) w == FRAME_HDR + len)
        return 0;
    }
  /* A slow attacher keeps only what finishes a frame already on its way. */
  if (c->slow && w == 0)
    return 1;
  if (keep (c, h, data, len, (size_t) w) == 0)
    return 0;
  return w == 0 ? 1 : -1;
}

static void
send_or_drop (struct client *c, int stream, const char *data, size_t len)
{
  int r;
  if (c->dropped > 0 && c->pend_len == c->pend_off)
    {
      char ev[64];
      int n = snprintf (ev, sizeof (ev), "{\"dropped\":%llu}", (unsigned long long) c->dropped);
      if ((r = send_frame (c, FRAME_CONTROL, ev, (size_t) n)) < 0)
        return client_close (c);
      if (r == 0)
        c->dropped = 0;
    }
  if (c->dropped > 0 && c->slow)
    {
      c->dropped += len; /* still behind: keep the count going until it catches up */
      return;
    }
  r = send_frame (c, stream, data, len);
  if (r < 0)
    client_close (c);
  else if (r > 0)
    c->dropped += len;
}

static void
broadcast (struct monitor *m, int stream, const char *data, size_t len)
{
  int want = stream == FRAME_STDOUT ? ATTACH_STDOUT : ATTACH_STDERR;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->cl[i].fd >= 0 && (m->cl[i].attached & want))
      send_or_drop (&m->cl[i], stream, data, len);
}

void
attach_start (struct monitor *m, struct client *c, char *args)
{
  struct helper *h = m->h;
  char *save = NULL, reply[128];
  int want = 0;
  if (!h->plan->capture.on)
    {
      snprintf (reply, sizeof (reply), "{\"ok\":false,\"errno\":%d,\"msg\":\"the monitor does not hold the stdio (no capture)\"}", ENOTSUP);
      control_reply (c, reply);
      return;
    }
  for (char *t = strtok_r (args, " ", &save); t != NULL; t = strtok_r (NULL, " ", &save))
    {
      if (strcmp (t, "stdin") == 0)
        want |= ATTACH_STDIN;
      else if (strcmp (t, "stdout") == 0)
        want |= ATTACH_STDOUT;
      else if (strcmp (t, "stderr") == 0)
        want |= ATTACH_STDERR;
      else
        {
          snprintf (reply, sizeof (reply), "{\"ok\":false,\"errno\":%d,\"msg\":\"usage: attach [stdin] [stdout] [stderr]\"}", EINVAL);
          control_reply (c, reply);
          return;
        }
    }
  if (want == 0)
    want = ATTACH_STDOUT | ATTACH_STDERR;
  /* No stdin to feed (not open, or closed already): the attacher gets output only. */
  if (h->io.in.dst < 0 || m->in_close_pending)
    want &= ~ATTACH_STDIN;
  /* Frames follow the answer: bytes sent behind the request line would be misread. */
  if (c->len > 0)
    {
      snprintf (reply, sizeof (reply), "{\"ok\":false,\"errno\":%d,\"msg\":\"attach: send frames only after the answer\"}", EPROTO);
      control_reply (c, reply);
      client_close (c);
      return;
    }
  snprintf (reply, sizeof (reply), "{\"ok\":true,\"tty\":%s,\"stdin\":%s}", h->plan->terminal ? "true" : "false",
            want & ATTACH_STDIN ? "true" : "false");
  control_reply (c, reply);
  if (c->fd >= 0)
    c->attached = want;
}

int
monitor_close_stdin (struct monitor *m)
{
  struct stdio_state *io = &m->h->io;
  if (io->in.len > 0)
    {
      m->in_close_pending = 1; /* the pump closes it once these bytes are written */
      return 0;
    }
  m->in_close_pending = 0;
  if (io->in.src >= 0)
    close (io->in.src), io->in.src = -1;
  if (io->in.dst >= 0 && io->in.dst != io->master)
    close (io->in.dst), io->in.dst = -1;
  else if (io->master >= 0 && io->in.dst == io->master)
    {
      /* On a terminal, EOF is the VEOF character at the start of a line. */
      struct termios t;
      char eof = tcgetattr (io->master, &t) == 0 ? (char) t.c_cc[VEOF] : 4;
      io->in.dst = -1;
      if (write (io->master, &eof, 1) < 0)
        return -1;
    }
  return 0;
}

static void
on_control_frame (struct monitor *m, struct client *c)
{
  unsigned w, hgt;
  struct winsize ws = { 0 };
  c->ctl[c->ctl_len] = '\0';
  if (strcmp (c->ctl, "close-stdin") == 0)
    {
      if (c->attached & ATTACH_STDIN)
        (void) monitor_close_stdin (m);
      return;
    }
  if (sscanf (c->ctl, "resize %u %u", &w, &hgt) == 2 && w > 0 && hgt > 0 && w <= 65535 && hgt <= 65535
      && m->h->io.master >= 0)
    {
      ws.ws_col = (unsigned short) w;
      ws.ws_row = (unsigned short) hgt;
      (void) ioctl (m->h->io.master, TIOCSWINSZ, &ws);
    }
}

short
attach_poll_events (struct monitor *m, struct client *c)
{
  short ev = c->pend_len > c->pend_off ? POLLOUT : 0;
  /* Mid-way through a stdin frame while the stdin pump is still busy: leave the socket alone
     (its data waits in the kernel; polling a hung-up peer would only spin). */
  if (!(c->in_type == FRAME_STDIN && c->in_left > 0 && m->h->io.in.len > 0))
    ev |= POLLIN;
  return ev;
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
attach_on_writable (struct client *c)
{
  ssize_t w;
  int queued = 0;
  if (c->pend_len == c->pend_off)
    return;
  w = send (c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (w < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (w < 0)
    return client_close (c);
  c->pend_off += (size_t) w;
  if (c->pend_off < c->pend_len)
    return;
  c->pend_len = c->pend_off = 0;
  c->stall_since = 0;
  /* A slow attacher is lossless again once it has read everything queued for it. */
  if (c->slow && ioctl (c->fd, SIOCOUTQ, &queued) == 0 && queued == 0)
    c->slow = 0;
}

int
attach_stalled (struct monitor *m, int *timeout_ms)
{
  int64_t now = 0;
  int stalled = 0;
  for (int i = 0; i < MAX_CLIENTS; i++)
    {
      struct client *c = &m->cl[i];
      if (c->fd < 0 || !c->attached || c->slow || c->pend_len == c->pend_off)
        continue;
      if (now == 0)
        now = now_ms ();
      if (c->stall_since == 0)
        c->stall_since = now;
      if (now - c->stall_since >= ATTACH_STALL_MS)
        {
          c->slow = 1;
          continue;
        }
      stalled = 1;
      if (*timeout_ms < 0 || *timeout_ms > ATTACH_STALL_MS - (now - c->stall_since))
        *timeout_ms = (int) (ATTACH_STALL_MS - (now - c->stall_since));
    }
  return stalled;
}

void
attach_on_readable (struct monitor *m, struct client *c)
{
  struct pump *in = &m->h->io.in;
  ssize_t n;
  if (c->in_left == 0)
    {
      n = recv (c->fd, c->hdr + c->hdr_len, FRAME_HDR - c->hdr_len, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (n <= 0)
        return client_close (c); /* detached */
      if ((c->hdr_len += (size_t) n) < FRAME_HDR)
        return;
      c->hdr_len = 0;
      c->in_type = c->hdr[0];
      c->in_left = (size_t) c->hdr[4] << 24 | (size_t) c->hdr[5] << 16 | (size_t) c->hdr[6] << 8 | c->hdr[7];
      c->ctl_len = 0;
      if ((c->in_type != FRAME_STDIN && c->in_type != FRAME_CONTROL) || c->hdr[1] || c->hdr[2] || c->hdr[3]
          || (c->in_type == FRAME_CONTROL && c->in_left >= sizeof (c->ctl)))
        return client_close (c); /* not our protocol */
      if (c->in_type == FRAME_CONTROL && c->in_left == 0)
        on_control_frame (m, c);
      return;
    }
  if (c->in_type == FRAME_CONTROL)
    {
      n = recv (c->fd, c->ctl + c->ctl_len, c->in_left, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (n <= 0)
        return client_close (c);
      c->ctl_len += (size_t) n;
      if ((c->in_left -= (size_t) n) == 0)
        on_control_frame (m, c);
      return;
    }
  if (in->len > 0)
    return;
  /* stdin: one chunk straight into the stdin pump, which the loop writes to the process. Bytes
     for a closed stdin (or from an attacher without stdin) are read and dropped. */
  n = recv (c->fd, in->buf, c->in_left < sizeof (in->buf) ? c->in_left : sizeof (in->buf), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    return client_close (c);
  c->in_left -= (size_t) n;
  if ((c->attached & ATTACH_STDIN) && in->dst >= 0 && !m->in_close_pending)
    {
      in->len = (size_t) n;
      in->off = 0;
    }
}

int
capture_read (struct monitor *m, int i)
{
  static char buf[PUMP_BUF];
  struct stdio_state *io = &m->h->io;
  ssize_t n = read (io->cap[i], buf, sizeof (buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return 0;
  if (n <= 0)
    {
      /* EOF, or EIO from a pty master whose slave side is gone. The master stays open (resize). */
      logfile_eof (&m->log, i);
      if (io->cap[i] != io->master)
        close (io->cap[i]);
      io->cap[i] = -1;
      return -1;
    }
  logfile_feed (&m->log, i, buf, (size_t) n);
  broadcast (m, i == 0 ? FRAME_STDOUT : FRAME_STDERR, buf, (size_t) n);
  return 1;
}

/* Waits (briefly) until the socket takes the pending bytes; the monitor is about to exit. */
static void
flush_pending (struct client *c, int timeout_ms)
{
  while (c->fd >= 0 && c->pend_len > c->pend_off)
    {
      struct pollfd p = { c->fd, POLLOUT, 0 };
      if (poll (&p, 1, timeout_ms) <= 0)
        return;
      attach_on_writable (c);
    }
}

/* At exit the loop no longer runs: give attachers that read their stall budget here. */
static void
wait_for_attachers (struct monitor *m)
{
  int timeout = -1;
  while (attach_stalled (m, &timeout))
    {
      struct pollfd p[MAX_CLIENTS];
      int n = 0, idx[MAX_CLIENTS];
      for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->cl[i].fd >= 0 && m->cl[i].attached && m->cl[i].pend_len > m->cl[i].pend_off)
          idx[n] = i, p[n++] = (struct pollfd) { m->cl[i].fd, POLLOUT, 0 };
      if (poll (p, (nfds_t) n, timeout) < 0 && errno != EINTR)
        return;
      for (int j = 0; j < n; j++)
        if (p[j].revents)
          attach_on_writable (&m->cl[idx[j]]);
      timeout = -1;
    }
}

/* Ends every attach connection after the exit event without losing it: a close while the
   attacher is still writing (stdin, close-stdin, a resize racing the exit) would make its next
   write fail with EPIPE (or its read with ECONNRESET when our side had unread input), and a
   client library then drops the frames it had not read yet, the exit among them. So: shut our
   writing side (the attacher reads the exit, then EOF), read and drop what it still sends until
   it closes, and close; LINGER_MS bounds the wait for an attacher that never closes. */
#define LINGER_MS 500

static void
linger_close (struct monitor *m)
{
  struct timespec t0;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->cl[i].fd >= 0 && m->cl[i].attached)
      (void) shutdown (m->cl[i].fd, SHUT_WR);
  for (;;)
    {
      struct pollfd p[MAX_CLIENTS];
      int n = 0, idx[MAX_CLIENTS];
      for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->cl[i].fd >= 0 && m->cl[i].attached)
          idx[n] = i, p[n++] = (struct pollfd) { m->cl[i].fd, POLLIN, 0 };
      if (n == 0)
        return;
      struct timespec now;
      clock_gettime (CLOCK_MONOTONIC, &now);
      long left = LINGER_MS - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
      if (left <= 0 || (poll (p, (nfds_t) n, (int) left) < 0 && errno != EINTR))
        break;
      for (int j = 0; j < n; j++)
        {
          if (!p[j].revents)
            continue;
          char scratch[4096];
          ssize_t r = read (p[j].fd, scratch, sizeof (scratch));
          if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            client_close (&m->cl[idx[j]]);
        }
    }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->cl[i].attached)
      client_close (&m->cl[i]);
}

void
capture_finish (struct monitor *m, const char *exit_fields)
{
  struct stdio_state *io = &m->h->io;
  char ev[512];
  int n;
  for (int i = 0; i < 2; i++)
    {
      if (io->cap[i] < 0)
        continue;
      (void) fcntl (io->cap[i], F_SETFL, fcntl (io->cap[i], F_GETFL) | O_NONBLOCK);
      /* What the process wrote before it exited; a pipe another process still holds is left
         (bounded: the pipe or pty holds at most a few hundred KiB). */
      for (int k = 0; k < 4096; k++)
        {
          wait_for_attachers (m);
          if (capture_read (m, i) <= 0)
            break;
        }
      logfile_eof (&m->log, i);
    }
  n = snprintf (ev, sizeof (ev), "{\"exit\":{%s}}", exit_fields);
  for (int i = 0; i < MAX_CLIENTS; i++)
    {
      struct client *c = &m->cl[i];
      if (c->fd < 0 || !c->attached)
        continue;
      flush_pending (c, 100);
      if (c->fd >= 0 && c->pend_len == c->pend_off)
        {
          (void) send_frame (c, FRAME_CONTROL, ev, (size_t) n);
          flush_pending (c, 100);
        }
    }
  linger_close (m);
  logfile_close (&m->log);
}
