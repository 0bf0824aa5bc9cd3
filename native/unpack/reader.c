#include "reader.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static int
fill (struct reader *r, bu_error_t *err)
{
  ssize_t n;

  if (r->pos < r->len || r->eof)
    return 0;
  r->pos = r->len = 0;
  if (r->dec != NULL)
    {
      if (decoder_next (r->dec, &r->buf, &r->len, err) < 0)
        return -1;
      if (r->len == 0)
        r->eof = 1;
      return 0;
    }
  r->buf = r->own;
  do
    n = read (r->fd, r->own, sizeof (r->own));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return bu_sys (err, errno, "read layer stream");
  if (n == 0)
    r->eof = 1;
  r->len = (size_t) n;
  return 0;
}

ssize_t
rd_some (struct reader *r, void *dst, size_t n, bu_error_t *err)
{
  size_t avail;

  if (fill (r, err) < 0)
    return -1;
  avail = r->len - r->pos;
  if (avail == 0)
    return 0;
  if (n > avail)
    n = avail;
  memcpy (dst, r->buf + r->pos, n);
  r->pos += n;
  r->consumed += n;
  return (ssize_t) n;
}

int
rd_full (struct reader *r, void *dst, size_t n, bu_error_t *err)
{
  unsigned char *p = dst;

  while (n > 0)
    {
      ssize_t got = rd_some (r, p, n, err);
      if (got < 0)
        return -1;
      if (got == 0)
        return bu_invalid (err, 0, "unexpected end of archive at offset %llu", (unsigned long long) r->consumed);
      p += got;
      n -= (size_t) got;
    }
  return 0;
}

int
rd_copy (struct reader *r, int fd, uint64_t n, bu_error_t *err)
{
  while (n > 0)
    {
      size_t chunk;

      if (fill (r, err) < 0)
        return -1;
      if (r->len == r->pos)
        return bu_invalid (err, 0, "unexpected end of archive at offset %llu", (unsigned long long) r->consumed);
      chunk = r->len - r->pos;
      if (chunk > n)
        chunk = (size_t) n;
      if (fd >= 0 && write_all (fd, r->buf + r->pos, chunk) < 0)
        return bu_sys (err, errno, "write file data");
      r->pos += chunk;
      r->consumed += chunk;
      n -= chunk;
    }
  return 0;
}

int
rd_drain (struct reader *r, bu_error_t *err)
{
  for (;;)
    {
      if (fill (r, err) < 0)
        return -1;
      if (r->len == r->pos)
        return 0;
      r->consumed += r->len - r->pos;
      r->pos = r->len;
    }
}
