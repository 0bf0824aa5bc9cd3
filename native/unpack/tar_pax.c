/* PAX extended headers: "<len> <key>=<value>\n" records (path, linkpath, size, uid, gid, mtime,
 * atime, SCHILY.xattr.*) folded into the pending state for the next entry. */
#include "tar_pending.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
pending_free (struct pending *p)
{
  size_t i;

  free (p->path);
  free (p->linkpath);
  for (i = 0; i < p->nxattrs; i++)
    {
      free (p->xattrs[i].name);
      free (p->xattrs[i].value);
    }
  memset (p, 0, sizeof (*p));
}

static int
parse_decimal (const char *s, size_t len, int64_t *out)
{
  int64_t v = 0;
  size_t i;

  if (len == 0 || len > 18)
    return -1;
  for (i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return 0;
}

/* "123", "123.456", "-1.5" (pre-epoch times are clamped to 0). */
static int
parse_time (const char *s, size_t len, struct timespec *ts)
{
  size_t dot = 0, i;
  int64_t sec = 0;
  long nsec = 0;
  int neg = 0;

  if (len > 0 && s[0] == '-')
    {
      neg = 1;
      s++;
      len--;
    }
  while (dot < len && s[dot] != '.')
    dot++;
  if (parse_decimal (s, dot, &sec) < 0)
    return -1;
  if (dot < len)
    {
      long scale = 100000000;
      for (i = dot + 1; i < len; i++)
        {
          if (s[i] < '0' || s[i] > '9')
            return -1;
          nsec += (s[i] - '0') * scale;
          scale /= 10;
        }
    }
  ts->tv_sec = neg ? 0 : sec;
  ts->tv_nsec = neg ? 0 : nsec;
  return 0;
}

static int
add_xattr (struct pending *p, const char *name, const char *value, size_t len, bu_error_t *err)
{
  struct tar_xattr *x;

  if (p->nxattrs >= TAR_MAX_XATTRS)
    return bu_invalid (err, 0, "tar entry has more than %d xattrs", TAR_MAX_XATTRS);
  x = &p->xattrs[p->nxattrs];
  x->name = strdup (name);
  x->value = malloc (len + 1);
  if (x->name == NULL || x->value == NULL)
    {
      free (x->name);
      free (x->value);
      return bu_sys (err, ENOMEM, "xattr");
    }
  memcpy (x->value, value, len);
  x->value[len] = 0;
  x->len = len;
  p->nxattrs++;
  return 0;
}

/* PAX records: "<len> <key>=<value>\n", len counting the whole record. */
int
parse_pax (char *buf, size_t size, struct pending *p, int global, bu_error_t *err)
{
  size_t off = 0;

  while (off < size)
    {
      size_t sp = off, reclen, eq;
      int64_t n;
      char *key, *val;
      size_t vlen;

      while (sp < size && buf[sp] != ' ')
        sp++;
      if (sp >= size || parse_decimal (buf + off, sp - off, &n) < 0)
        return bu_invalid (err, 0, "pax header: invalid record length");
      reclen = (size_t) n;
      if (reclen <= sp - off + 1 || reclen > size - off || buf[off + reclen - 1] != '\n')
        return bu_invalid (err, 0, "pax header: invalid record");
      key = buf + sp + 1;
      buf[off + reclen - 1] = 0;
      for (eq = 0; key + eq < buf + off + reclen - 1 && key[eq] != '='; eq++)
        ;
      if (key + eq >= buf + off + reclen - 1)
        return bu_invalid (err, 0, "pax header: record without '='");
      key[eq] = 0;
      val = key + eq + 1;
      vlen = (size_t) (buf + off + reclen - 1 - val);
      off += reclen;
      if (global)
        continue; /* containerd ignores global headers too */
      if (strcmp (key, "path") == 0 || strcmp (key, "linkpath") == 0)
        {
          char **dst = key[0] == 'p' ? &p->path : &p->linkpath;
          if (vlen > TAR_MAX_NAME || memchr (val, 0, vlen) != NULL)
            return bu_invalid (err, ENAMETOOLONG, "pax header: bad %s", key);
          free (*dst);
          *dst = strndup (val, vlen);
          if (*dst == NULL)
            return bu_sys (err, ENOMEM, "pax");
        }
      else if (strcmp (key, "size") == 0)
        {
          if (parse_decimal (val, vlen, &n) < 0)
            return bu_invalid (err, 0, "pax header: invalid size");
          p->size = (uint64_t) n;
          p->has_size = 1;
        }
      else if (strcmp (key, "uid") == 0 || strcmp (key, "gid") == 0)
        {
          if (parse_decimal (val, vlen, &n) < 0 || n > UINT32_MAX)
            return bu_invalid (err, 0, "pax header: invalid %s", key);
          if (key[0] == 'u')
            p->uid = n, p->has_uid = 1;
          else
            p->gid = n, p->has_gid = 1;
        }
      else if (strcmp (key, "mtime") == 0 || strcmp (key, "atime") == 0)
        {
          struct timespec *ts = key[0] == 'm' ? &p->mtime : &p->atime;
          if (parse_time (val, vlen, ts) < 0)
            return bu_invalid (err, 0, "pax header: invalid %s", key);
          if (key[0] == 'm')
            p->has_mtime = 1;
          else
            p->has_atime = 1;
        }
      else if (strncmp (key, "SCHILY.xattr.", 13) == 0)
        {
          if (key[13] == 0)
            return bu_invalid (err, 0, "pax header: empty xattr name");
          if (add_xattr (p, key + 13, val, vlen, err) < 0)
            return -1;
        }
      else if (strncmp (key, "GNU.sparse.", 11) == 0)
        return bu_invalid (err, ENOTSUP, "pax header: sparse files are not supported");
      /* other keys (ctime, uname, gname, comment, LIBARCHIVE.*) are ignored */
    }
  return 0;
}
