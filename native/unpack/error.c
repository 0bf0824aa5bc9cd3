#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
vfill (bu_error_t *err, int errno_value, const char *fmt, va_list ap)
{
  int n;

  err->status = errno_value;
  n = vsnprintf (err->msg, sizeof (err->msg), fmt, ap);
  if (errno_value != 0 && n >= 0 && (size_t) n < sizeof (err->msg))
    snprintf (err->msg + n, sizeof (err->msg) - n, ": %s", strerror (errno_value));
}

int
bu_invalid (bu_error_t *err, int errno_value, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vfill (err, errno_value, fmt, ap);
  va_end (ap);
  err->invalid = 1;
  return -1;
}

/* Errnos that blame the host, not the archive. */
static int
host_errno (int e)
{
  switch (e)
    {
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EROFS:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EACCES:
    case EBADF:
    case EFAULT:
      return 1;
    default:
      return 0;
    }
}

int
bu_sys (bu_error_t *err, int errno_value, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vfill (err, errno_value, fmt, ap);
  va_end (ap);
  err->invalid = !host_errno (errno_value);
  return -1;
}

int
bu_wrap (bu_error_t *err, const char *fmt, ...)
{
  char prefix[256];
  size_t pl, ol;
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (prefix, sizeof (prefix), fmt, ap);
  va_end (ap);
  pl = strlen (prefix);
  ol = strnlen (err->msg, sizeof (err->msg) - 1);
  if (pl + 2 + ol >= sizeof (err->msg))
    ol = sizeof (err->msg) - 1 - pl - 2;
  memmove (err->msg + pl + 2, err->msg, ol);
  memcpy (err->msg, prefix, pl);
  memcpy (err->msg + pl, ": ", 2);
  err->msg[pl + 2 + ol] = 0;
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
