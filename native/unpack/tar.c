#include "tar.h"
#include "tar_pending.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512

void
tar_entry_free (struct tar_entry *e)
{
  size_t i;

  free (e->path);
  free (e->linkpath);
  for (i = 0; i < e->nxattrs; i++)
    {
      free (e->xattrs[i].name);
      free (e->xattrs[i].value);
    }
  memset (e, 0, sizeof (*e));
}

/* Octal (space/NUL padded) or GNU base-256 (high bit set). Negative numbers are refused. */
int
tar_parse_number (const unsigned char *f, size_t len, int64_t *out)
{
  uint64_t v = 0;
  size_t i = 0;

  if (len > 0 && (f[0] & 0x80))
    {
      if (f[0] & 0x40)
        return -1; /* negative base-256 */
      v = f[0] & 0x3f;
      for (i = 1; i < len; i++)
        {
          if (v >> 55)
            return -1;
          v = (v << 8) | f[i];
        }
      *out = (int64_t) v;
      return 0;
    }
  while (i < len && (f[i] == ' ' || f[i] == 0))
    i++;
  if (i == len)
    {
      *out = 0;
      return 0;
    }
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++)
    {
      if (v >> 60)
        return -1;
      v = (v << 3) | (uint64_t) (f[i] - '0');
    }
  for (; i < len; i++)
    if (f[i] != ' ' && f[i] != 0)
      return -1;
  if (v > INT64_MAX)
    return -1;
  *out = (int64_t) v;
  return 0;
}

static int
field (const unsigned char *h, size_t off, size_t len, const char *what, int64_t *out, bu_error_t *err)
{
  if (tar_parse_number (h + off, len, out) < 0)
    return bu_invalid (err, 0, "tar header: invalid %s field", what);
  return 0;
}

static char *
strndup_field (const unsigned char *f, size_t len)
{
  return strndup ((const char *) f, len);
}

/* Reads `size` bytes of an extension record (plus padding) into a NUL-terminated buffer. */
static int
read_blob (struct reader *r, uint64_t size, uint64_t max, char **out, bu_error_t *err)
{
  cleanup_free char *buf = NULL;
  uint64_t pad = (BLOCK - size % BLOCK) % BLOCK;

  if (size > max)
    return bu_invalid (err, 0, "tar extension header too large (%llu bytes)", (unsigned long long) size);
  buf = malloc (size + 1);
  if (buf == NULL)
    return bu_sys (err, ENOMEM, "tar extension header");
  if (rd_full (r, buf, size, err) < 0 || rd_copy (r, -1, pad, err) < 0)
    return -1;
  buf[size] = 0;
  *out = buf;
  buf = NULL;
  return 0;
}

static int
is_zero_block (const unsigned char *h)
{
  size_t i;

  for (i = 0; i < BLOCK; i++)
    if (h[i])
      return 0;
  return 1;
}

static int
check_sum (const unsigned char *h, bu_error_t *err)
{
  int64_t want;
  uint64_t usum = 0;
  int64_t ssum = 0;
  size_t i;

  if (tar_parse_number (h + 148, 8, &want) < 0)
    return bu_invalid (err, 0, "tar header: invalid checksum field");
  for (i = 0; i < BLOCK; i++)
    {
      unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
      usum += c;
      ssum += (signed char) c;
    }
  if ((int64_t) usum != want && ssum != want)
    return bu_invalid (err, 0, "tar header: checksum mismatch");
  return 0;
}

static int
header_only (char t)
{
  return t == '1' || t == '2' || t == '3' || t == '4' || t == '5' || t == '6';
}

int
tar_next (struct reader *r, struct tar_entry *e, bu_error_t *err)
{
  struct pending p;
  unsigned char h[BLOCK];
  int ret = -1;

  memset (&p, 0, sizeof (p));
  memset (e, 0, sizeof (*e));
  for (;;)
    {
      int64_t size, v;
      char t;
      ssize_t got;

      got = rd_some (r, h, BLOCK, err);
      if (got < 0)
        goto out;
      if (got == 0)
        {
          /* EOF without an end marker: Go's archive/tar accepts it; so do we, unless an
           * extension header was left dangling. */
          if (p.path || p.linkpath || p.nxattrs || p.has_size)
            {
              bu_invalid (err, 0, "unexpected end of archive after an extension header");
              goto out;
            }
          ret = 0;
          goto out;
        }
      if ((size_t) got < BLOCK && rd_full (r, h + got, BLOCK - (size_t) got, err) < 0)
        goto out;
      if (is_zero_block (h))
        {
          unsigned char h2[BLOCK];
          got = rd_some (r, h2, BLOCK, err);
          if (got < 0)
            goto out;
          if (got > 0 && (size_t) got < BLOCK && rd_full (r, h2 + got, BLOCK - (size_t) got, err) < 0)
            goto out;
          if (got > 0 && !is_zero_block (h2))
            {
              bu_invalid (err, 0, "tar: data after a zero block");
              goto out;
            }
          ret = 0;
          goto out;
        }
      if (check_sum (h, err) < 0)
        goto out;
      if (field (h, 124, 12, "size", &size, err) < 0)
        goto out;
      t = (char) h[156];
      if (t == 'L' || t == 'K' || t == 'x' || t == 'g')
        {
          char *blob = NULL;
          if (read_blob (r, (uint64_t) size, t == 'x' || t == 'g' ? TAR_MAX_PAX : TAR_MAX_NAME, &blob, err) < 0)
            goto out;
          if (t == 'x' || t == 'g')
            {
              int rc = parse_pax (blob, (size_t) size, &p, t == 'g', err);
              free (blob);
              if (rc < 0)
                goto out;
            }
          else
            {
              char **dst = t == 'L' ? &p.path : &p.linkpath;
              free (*dst);
              *dst = blob;
            }
          continue;
        }
      if (t == 0 || t == '7')
        t = '0';
      if (t != '0' && !header_only (t))
        {
          bu_invalid (err, 0, "tar: unsupported entry type '%c' (0x%02x)", t >= 32 && t < 127 ? t : '?', (unsigned char) h[156]);
          goto out;
        }
      e->type = t;
      if (field (h, 100, 8, "mode", &v, err) < 0)
        goto out;
      e->mode = (uint32_t) v & 07777;
      if (field (h, 108, 8, "uid", &e->uid, err) < 0 || field (h, 116, 8, "gid", &e->gid, err) < 0)
        goto out;
      if (field (h, 136, 12, "mtime", &v, err) < 0)
        goto out;
      e->mtime.tv_sec = v;
      e->size = (uint64_t) size;
      if (t == '3' || t == '4')
        {
          if (field (h, 329, 8, "devmajor", &v, err) < 0)
            goto out;
          e->devmajor = (uint32_t) v;
          if (field (h, 337, 8, "devminor", &v, err) < 0)
            goto out;
          e->devminor = (uint32_t) v;
        }
      if (p.path)
        e->path = p.path, p.path = NULL;
      else
        {
          char name[256 + 2];
          size_t nl = strnlen ((const char *) h, 100);
          if (memcmp (h + 257, "ustar\0", 6) == 0 && h[345] != 0)
            {
              size_t pl = strnlen ((const char *) h + 345, 155);
              memcpy (name, h + 345, pl);
              name[pl] = '/';
              memcpy (name + pl + 1, h, nl);
              name[pl + 1 + nl] = 0;
            }
          else
            {
              memcpy (name, h, nl);
              name[nl] = 0;
            }
          e->path = strdup (name);
        }
      if (p.linkpath)
        e->linkpath = p.linkpath, p.linkpath = NULL;
      else
        e->linkpath = strndup_field (h + 157, strnlen ((const char *) h + 157, 100));
      if (e->path == NULL || e->linkpath == NULL)
        {
          bu_sys (err, ENOMEM, "tar entry");
          goto out;
        }
      if (strlen (e->path) > TAR_MAX_NAME)
        {
          bu_invalid (err, ENAMETOOLONG, "tar entry name");
          goto out;
        }
      if (p.has_size)
        e->size = p.size;
      if (p.has_uid)
        e->uid = p.uid;
      if (p.has_gid)
        e->gid = p.gid;
      if (p.has_mtime)
        e->mtime = p.mtime;
      if (p.has_atime)
        e->atime = p.atime, e->has_atime = 1;
      memcpy (e->xattrs, p.xattrs, sizeof (p.xattrs[0]) * p.nxattrs);
      e->nxattrs = p.nxattrs;
      p.nxattrs = 0;
      if (header_only (t))
        e->size = 0;
      if (e->size > (uint64_t) INT64_MAX)
        {
          bu_invalid (err, EFBIG, "tar entry size");
          goto out;
        }
      ret = 1;
      goto out;
    }
out:
  pending_free (&p);
  if (ret < 0)
    tar_entry_free (e);
  return ret;
}

int
tar_skip_padding (struct reader *r, const struct tar_entry *e, bu_error_t *err)
{
  return rd_copy (r, -1, (BLOCK - e->size % BLOCK) % BLOCK, err);
}
