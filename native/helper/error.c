#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
berth_error (berth_error_t *err, int errno_value, const char *fmt, ...)
{
  va_list ap;
  int n;

  err->status = errno_value;
  err->stage = NULL;
  va_start (ap, fmt);
  n = vsnprintf (err->msg, sizeof (err->msg), fmt, ap);
  va_end (ap);
  if (errno_value != 0 && n >= 0 && (size_t) n < sizeof (err->msg))
    snprintf (err->msg + n, sizeof (err->msg) - n, ": %s", strerror (errno_value));
  return -1;
}

int
berth_error_wrap (berth_error_t *err, const char *fmt, ...)
{
  char prefix[BERTH_MSG_MAX];
  char old[BERTH_MSG_MAX];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (prefix, sizeof (prefix), fmt, ap);
  va_end (ap);
  memcpy (old, err->msg, sizeof (old));
  snprintf (err->msg, sizeof (err->msg), "%s: %s", prefix, old);
  return -1;
}

int
berth_error_stage (berth_error_t *err, const char *stage)
{
  if (err->stage == NULL)
    err->stage = stage;
  return -1;
}

int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

ssize_t
read_small_file (const char *path, char *buf, size_t cap)
{
  size_t off = 0;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  while (off + 1 < cap)
    {
      ssize_t n = read (fd, buf + off, cap - 1 - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          errno = saved;
          return -1;
        }
      if (n == 0)
        break;
      off += (size_t) n;
    }
  close (fd);
  buf[off] = '\0';
  return (ssize_t) off;
}

int
write_file (const char *path, const char *value)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  int ret, saved;
  if (fd < 0)
    return -1;
  ret = write_all (fd, value, strlen (value));
  saved = errno;
  close (fd);
  errno = saved;
  return ret;
}
