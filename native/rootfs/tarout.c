/* A tar writer for archive: USTAR headers, with a PAX header first where USTAR cannot say it
 * (long or non-ASCII names, large ids or sizes, xattrs as SCHILY.xattr.*). Output is buffered. */
#include "tarout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static unsigned char obuf[1 << 16];
static size_t olen;

int
tar_flush (int out)
{
  if (olen && write_all (out, obuf, olen) < 0)
    return -1;
  olen = 0;
  return 0;
}

static int
put (int out, const void *p, size_t n)
{
  const unsigned char *s = p;
  while (n)
    {
      size_t k = sizeof (obuf) - olen < n ? sizeof (obuf) - olen : n;
      memcpy (obuf + olen, s, k);
      olen += k, s += k, n -= k;
      if (olen == sizeof (obuf) && tar_flush (out) < 0)
        return -1;
    }
  return 0;
}

static int
pad (int out, uint64_t size)
{
  static const unsigned char zero[512];
  return size % 512 ? put (out, zero, 512 - size % 512) : 0;
}

/* Octal, NUL-terminated, in a field of `len` bytes; 0 if it does not fit. */
static int
octal (unsigned char *f, size_t len, uint64_t v)
{
  char tmp[32];
  int n = snprintf (tmp, sizeof (tmp), "%0*llo", (int) len - 1, (unsigned long long) v);
  if (n < 0 || (size_t) n > len - 1)
    return 0;
  memcpy (f, tmp, (size_t) n + 1);
  return 1;
}

static int
plain (const char *s, size_t max)
{
  if (strlen (s) > max)
    return 0;
  for (; *s; s++)
    if ((unsigned char) *s >= 0x80)
      return 0;
  return 1;
}

/* "LEN key=value\n", LEN counting itself. */
static size_t
pax_add (char *buf, size_t off, size_t cap, const char *key, const char *val, size_t vlen)
{
  size_t body = strlen (key) + vlen + 3, len = body + 1;
  char num[24];
  while ((size_t) snprintf (num, sizeof (num), "%zu", len) + body != len)
    len = body + strlen (num);
  if (off + len > cap)
    return (size_t) -1;
  off += (size_t) snprintf (buf + off, cap - off, "%s %s=", num, key);
  memcpy (buf + off, val, vlen);
  off += vlen;
  buf[off++] = '\n';
  return off;
}

static void
checksum (unsigned char *h)
{
  unsigned sum = 0;
  memset (h + 148, ' ', 8);
  for (int i = 0; i < 512; i++)
    sum += h[i];
  snprintf ((char *) h + 148, 8, "%06o", sum);
}

static int
header (int out, const char *name, char type, const struct tar_out *t, const char *link)
{
  unsigned char h[512] = { 0 };
  snprintf ((char *) h, 100, "%.99s", name);
  octal (h + 100, 8, t->mode & 07777);
  octal (h + 108, 8, t->uid <= 07777777 ? t->uid : 0);
  octal (h + 116, 8, t->gid <= 07777777 ? t->gid : 0);
  octal (h + 124, 12, t->size <= 077777777777ull ? t->size : 0);
  octal (h + 136, 12, t->mtime > 0 ? (uint64_t) t->mtime : 0);
  h[156] = (unsigned char) type;
  if (link)
    snprintf ((char *) h + 157, 100, "%.99s", link);
  memcpy (h + 257, "ustar\0" "00", 8);
  octal (h + 329, 8, t->devmajor);
  octal (h + 337, 8, t->devminor);
  checksum (h);
  return put (out, h, 512);
}

int
tar_entry (int out, const struct tar_out *t)
{
  static char pax[1 << 20];
  size_t off = 0;
  char num[24];
  int is_dir = t->type == '5';
  char name[8192];

  snprintf (name, sizeof (name), "%s%s", t->name, is_dir && t->name[0] && t->name[strlen (t->name) - 1] != '/' ? "/" : "");
  if (!plain (name, 99) && off != (size_t) -1)
    off = pax_add (pax, off, sizeof (pax), "path", name, strlen (name));
  if (t->linkname && !plain (t->linkname, 99) && off != (size_t) -1)
    off = pax_add (pax, off, sizeof (pax), "linkpath", t->linkname, strlen (t->linkname));
  if (t->uid > 07777777 && off != (size_t) -1)
    snprintf (num, sizeof (num), "%llu", (unsigned long long) t->uid), off = pax_add (pax, off, sizeof (pax), "uid", num, strlen (num));
  if (t->gid > 07777777 && off != (size_t) -1)
    snprintf (num, sizeof (num), "%llu", (unsigned long long) t->gid), off = pax_add (pax, off, sizeof (pax), "gid", num, strlen (num));
  if (t->size > 077777777777ull && off != (size_t) -1)
    snprintf (num, sizeof (num), "%llu", (unsigned long long) t->size), off = pax_add (pax, off, sizeof (pax), "size", num, strlen (num));
  for (size_t i = 0; i < t->nxattrs && off != (size_t) -1; i++)
    {
      char key[300];
      snprintf (key, sizeof (key), "SCHILY.xattr.%s", t->xattr_names[i]);
      off = pax_add (pax, off, sizeof (pax), key, t->xattr_values[i], t->xattr_lens[i]);
    }
  if (off == (size_t) -1)
    {
      errno = E2BIG;
      return -1;
    }
  if (off)
    {
      struct tar_out x = { .mode = 0644, .size = off, .mtime = t->mtime };
      char pname[100];
      snprintf (pname, sizeof (pname), "PaxHeaders/%.80s", t->name[0] ? t->name : ".");
      if (header (out, pname, 'x', &x, NULL) < 0 || put (out, pax, off) < 0 || pad (out, off) < 0)
        return -1;
    }
  return header (out, name, t->type, t, t->linkname);
}

int
tar_data (int out, int fd, uint64_t size)
{
  static unsigned char buf[1 << 16];
  uint64_t left = size;
  while (left)
    {
      ssize_t n = read (fd, buf, left < sizeof (buf) ? (size_t) left : sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        {
          /* The file shrank while it was read: the header promised `size`, so zeros make it up. */
          memset (buf, 0, sizeof (buf));
          while (left)
            {
              size_t k = left < sizeof (buf) ? (size_t) left : sizeof (buf);
              if (put (out, buf, k) < 0)
                return -1;
              left -= k;
            }
          break;
        }
      if (put (out, buf, (size_t) n) < 0)
        return -1;
      left -= (uint64_t) n;
    }
  return pad (out, size);
}

int
tar_finish (int out)
{
  static const unsigned char zero[1024];
  return put (out, zero, sizeof (zero)) < 0 ? -1 : tar_flush (out);
}
