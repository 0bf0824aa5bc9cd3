/* Tar writing (see tarw.h). Output goes through a 64 KiB buffer. */
#include "tarw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char obuf[65536];
static size_t olen;

static int
flush_out (int out)
{
  size_t off = 0;
  while (off < olen)
    {
      ssize_t w = write (out, obuf + off, olen - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      off += (size_t) w;
    }
  olen = 0;
  return 0;
}

static int
emit (int out, const void *p, size_t n)
{
  const char *s = p;
  while (n > 0)
    {
      size_t take = sizeof (obuf) - olen < n ? sizeof (obuf) - olen : n;
      memcpy (obuf + olen, s, take);
      olen += take, s += take, n -= take;
      if (olen == sizeof (obuf) && flush_out (out) < 0)
        return -1;
    }
  return 0;
}

static int
pad (int out, uint64_t size)
{
  static const char zero[512];
  size_t r = (size_t) (size % 512);
  return r ? emit (out, zero, 512 - r) : 0;
}

static int
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s >= 0x80)
      return 0;
  return 1;
}

/* One PAX record "LEN key=value\n" (LEN counts itself). */
static size_t
pax_record (char *buf, size_t off, size_t cap, const char *key, const char *val, size_t vlen)
{
  size_t body = 1 + strlen (key) + 1 + vlen + 1, len = body, digits;
  char num[24];
  for (;;)
    {
      digits = (size_t) snprintf (num, sizeof (num), "%zu", len);
      if (body + digits == len)
        break;
      len = body + digits;
    }
  if (off + len > cap)
    return (size_t) -1;
  off += (size_t) sprintf (buf + off, "%s %s=", num, key);
  memcpy (buf + off, val, vlen);
  off += vlen;
  buf[off++] = '\n';
  return off;
}

static void
octal (char *field, size_t width, uint64_t v)
{
  snprintf (field, width, "%0*llo", (int) width - 1, (unsigned long long) v);
}

/* USTAR name/prefix split; 0 when the name does not fit. */
static int
split_name (const char *name, char *nm, char *prefix)
{
  size_t n = strlen (name);
  if (n <= 100)
    {
      memcpy (nm, name, n);
      return 1;
    }
  for (size_t i = n - 1; i > 0; i--)
    if (name[i] == '/' && i <= 155 && n - i - 1 <= 100 && n - i - 1 > 0)
      {
        memcpy (prefix, name, i);
        memcpy (nm, name + i + 1, n - i - 1);
        return 1;
      }
  return 0;
}

static int
raw_header (int out, const char *name, char type, uint32_t mode, uint64_t uid, uint64_t gid, uint64_t size, int64_t mtime,
            const char *link, uint32_t dmaj, uint32_t dmin)
{
  char b[512] = { 0 };
  unsigned sum = 0;
  if (!split_name (name, b, b + 345))
    memcpy (b, name, 100); /* a PAX path record comes before */
  octal (b + 100, 8, mode & 07777);
  octal (b + 108, 8, uid > 07777777 ? 0 : uid);
  octal (b + 116, 8, gid > 07777777 ? 0 : gid);
  octal (b + 124, 12, size > 077777777777ULL ? 0 : size);
  octal (b + 136, 12, mtime < 0 ? 0 : (uint64_t) mtime);
  memset (b + 148, ' ', 8);
  b[156] = type;
  if (link)
    memcpy (b + 157, link, strlen (link) < 100 ? strlen (link) : 100);
  memcpy (b + 257, "ustar\0" "00", 8);
  if (type == '3' || type == '4')
    {
      octal (b + 329, 8, dmaj);
      octal (b + 337, 8, dmin);
    }
  for (int i = 0; i < 512; i++)
    sum += (unsigned char) b[i];
  snprintf (b + 148, 8, "%06o", sum);
  return emit (out, b, 512);
}

int
tar_header (int out, const struct tar_hdr *h)
{
  static char pax[262144];
  char name[8192], scratch[101] = { 0 }, prefix[156] = { 0 }, num[32];
  size_t p = 0;
  int n = snprintf (name, sizeof (name), "%s%s", h->name, h->type == '5' ? "/" : "");
  if (n < 0 || (size_t) n >= sizeof (name))
    return errno = ENAMETOOLONG, -1;
  if (!split_name (name, scratch, prefix) || !is_ascii (name))
    p = pax_record (pax, p, sizeof (pax), "path", name, strlen (name));
  if (h->linkname && (strlen (h->linkname) > 100 || !is_ascii (h->linkname)))
    p = pax_record (pax, p, sizeof (pax), "linkpath", h->linkname, strlen (h->linkname));
  if (p != (size_t) -1 && h->uid > 07777777)
    snprintf (num, sizeof (num), "%llu", (unsigned long long) h->uid), p = pax_record (pax, p, sizeof (pax), "uid", num, strlen (num));
  if (p != (size_t) -1 && h->gid > 07777777)
    snprintf (num, sizeof (num), "%llu", (unsigned long long) h->gid), p = pax_record (pax, p, sizeof (pax), "gid", num, strlen (num));
  if (p != (size_t) -1 && h->size > 077777777777ULL)
    snprintf (num, sizeof (num), "%llu", (unsigned long long) h->size), p = pax_record (pax, p, sizeof (pax), "size", num, strlen (num));
  for (size_t i = 0; p != (size_t) -1 && i < h->n_xattrs; i++)
    {
      char key[512];
      snprintf (key, sizeof (key), "SCHILY.xattr.%s", h->xattrs[i].name);
      p = pax_record (pax, p, sizeof (pax), key, h->xattrs[i].value, h->xattrs[i].len);
    }
  if (p == (size_t) -1)
    return errno = E2BIG, -1;
  if (p > 0)
    {
      char pname[100];
      snprintf (pname, sizeof (pname), "PaxHeaders.0/%.80s", h->name);
      if (!is_ascii (pname))
        snprintf (pname, sizeof (pname), "PaxHeaders.0/entry");
      if (raw_header (out, pname, 'x', 0644, 0, 0, p, h->mtime, NULL, 0, 0) < 0 || emit (out, pax, p) < 0 || pad (out, p) < 0)
        return -1;
    }
  return raw_header (out, name, h->type, h->mode, h->uid, h->gid, h->type == '0' ? h->size : 0, h->mtime, h->linkname,
                     h->devmajor, h->devminor);
}

int
tar_copy_data (int out, int fd, uint64_t size)
{
  char buf[65536];
  uint64_t left = size;
  while (left > 0)
    {
      ssize_t n = read (fd, buf, left < sizeof (buf) ? (size_t) left : sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        return errno = EIO, -1; /* shrank while we read it */
      if (emit (out, buf, (size_t) n) < 0)
        return -1;
      left -= (uint64_t) n;
    }
  return pad (out, size);
}

int
tar_end (int out)
{
  static const char zero[1024];
  if (emit (out, zero, sizeof (zero)) < 0)
    return -1;
  return flush_out (out);
}
