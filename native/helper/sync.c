#include "sync.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

size_t
json_escape (char *buf, size_t off, size_t cap, const char *s)
{
  for (; *s != '\0' && off + 7 < cap; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        {
          buf[off++] = '\\';
          buf[off++] = (char) c;
        }
      else if (c < 0x20)
        off += (size_t) snprintf (buf + off, cap - off, "\\u%04x", c);
      else
        buf[off++] = (char) c;
    }
  buf[off] = '\0';
  return off;
}

int
sync_write_msg (int fd, const char *type, pid_t pid, const berth_error_t *err)
{
  char line[SYNC_LINE_MAX];
  size_t n = (size_t) snprintf (line, sizeof (line), "{\"type\":\"%s\"", type);
  if (pid >= 0)
    n += (size_t) snprintf (line + n, sizeof (line) - n, ",\"pid\":%d", (int) pid);
  if (err != NULL)
    {
      n += (size_t) snprintf (line + n, sizeof (line) - n, ",\"errno\":%d,\"stage\":\"%s\",\"msg\":\"", err->status,
                              err->stage ? err->stage : "internal");
      n = json_escape (line, n, sizeof (line) - 4, err->msg);
      line[n++] = '"';
    }
  line[n++] = '}';
  line[n++] = '\n';
  return write_all (fd, line, n);
}

ssize_t
sync_read_line (int fd, char *buf, size_t cap)
{
  size_t n = 0;
  while (n + 1 < cap)
    {
      char c;
      ssize_t r = read (fd, &c, 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        return 0;
      if (c == '\n')
        break;
      buf[n++] = c;
    }
  buf[n] = '\0';
  return (ssize_t) n + 1;
}

int
isync_send (int fd, int type, const berth_error_t *err, int passfd)
{
  struct isync_msg m;
  struct iovec iov = { &m, sizeof (m) };
  union { char buf[CMSG_SPACE (sizeof (int))]; struct cmsghdr align; } u;
  struct msghdr mh = { 0 };

  memset (&m, 0, sizeof (m));
  m.type = type;
  if (err != NULL)
    {
      m.status = err->status;
      snprintf (m.stage, sizeof (m.stage), "%s", err->stage ? err->stage : "internal");
      snprintf (m.msg, sizeof (m.msg), "%s", err->msg);
    }
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (passfd >= 0)
    {
      struct cmsghdr *c;
      memset (&u, 0, sizeof (u));
      mh.msg_control = u.buf;
      mh.msg_controllen = sizeof (u.buf);
      c = CMSG_FIRSTHDR (&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &passfd, sizeof (int));
    }
  while (sendmsg (fd, &mh, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      return -1;
  return 0;
}

int
isync_recv (int fd, struct isync_msg *m, int *passfd)
{
  struct iovec iov = { m, sizeof (*m) };
  union { char buf[CMSG_SPACE (sizeof (int))]; struct cmsghdr align; } u;
  struct msghdr mh = { 0 };
  struct cmsghdr *c;
  ssize_t n;

  *passfd = -1;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof (u.buf);
  do
    n = recvmsg (fd, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -1;
  if (n == 0)
    return 0;
  for (c = CMSG_FIRSTHDR (&mh); c != NULL; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy (passfd, CMSG_DATA (c), sizeof (int));
  if ((size_t) n != sizeof (*m))
    {
      errno = EPROTO;
      return -1;
    }
  m->msg[sizeof (m->msg) - 1] = '\0';
  m->stage[sizeof (m->stage) - 1] = '\0';
  return 1;
}

void
isync_fail (int fd, berth_error_t *err)
{
  isync_send (fd, ISYNC_ERROR, err, -1);
  _exit (1);
}
