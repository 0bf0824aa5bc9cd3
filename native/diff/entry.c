/* One tar entry from a file in the tree being read, with its xattrs and hardlinks. */
#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

int
diff_fail (struct diff *d, int e, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (d->err, sizeof (d->err), fmt, ap);
  va_end (ap);
  errno = e;
  return -1;
}

int
read_xattrs (struct diff *d, int dirfd, const char *name, struct xattrs *x)
{
  char path[4096];
  ssize_t n, off = 0;
  size_t voff = 0;
  x->n = 0;
  x->opaque = x->redirect = 0;
  snprintf (path, sizeof (path), "/proc/self/fd/%d/%s", dirfd, name);
  n = llistxattr (path, x->names, sizeof (x->names));
  if (n < 0)
    return errno == ENOTSUP ? 0 : diff_fail (d, errno, "list xattrs of `%s`", name);
  for (; off < n; off += (ssize_t) strlen (x->names + off) + 1)
    {
      const char *k = x->names + off;
      ssize_t vl;
      if (strncmp (k, "trusted.overlay.", 16) == 0)
        {
          char v[8];
          if (!d->overlay)
            continue;
          if (strcmp (k, "trusted.overlay.opaque") == 0)
            x->opaque = lgetxattr (path, k, v, sizeof (v)) >= 1 && v[0] == 'y';
          else if (strcmp (k, "trusted.overlay.redirect") == 0 || strcmp (k, "trusted.overlay.metacopy") == 0)
            x->redirect = 1;
          continue;
        }
      if (x->n == XATTR_MAX)
        return diff_fail (d, E2BIG, "`%s` has more than %d xattrs", name, XATTR_MAX);
      vl = lgetxattr (path, k, x->values + voff, sizeof (x->values) - voff);
      if (vl < 0)
        return diff_fail (d, errno, "read xattr %s of `%s`", k, name);
      x->v[x->n++] = (struct tar_xattr) { k, x->values + voff, (size_t) vl };
      voff += (size_t) vl;
    }
  return 0;
}

static const char *
seen_link (struct diff *d, const struct stat *st, const char *rel)
{
  for (size_t i = 0; i < d->n_links; i++)
    if (d->links[i].dev == st->st_dev && d->links[i].ino == st->st_ino)
      return d->links[i].path;
  if (d->n_links == d->cap_links)
    {
      size_t cap = d->cap_links ? d->cap_links * 2 : 64;
      struct link_seen *nl = realloc (d->links, cap * sizeof (*nl));
      if (nl == NULL)
        return NULL;
      d->links = nl, d->cap_links = cap;
    }
  d->links[d->n_links++] = (struct link_seen) { st->st_dev, st->st_ino, strdup (rel) };
  return NULL;
}

int
emit_entry (struct diff *d, int dirfd, const char *name, const char *rel, const struct stat *st)
{
  static struct xattrs x;
  char target[4096];
  struct tar_hdr h = { .name = rel, .mode = st->st_mode & 07777, .uid = st->st_uid, .gid = st->st_gid, .mtime = st->st_mtime };
  int fd = -1, ret;
  if (S_ISSOCK (st->st_mode))
    return 0; /* as containerd: sockets are not archived */
  if (read_xattrs (d, dirfd, name, &x) < 0)
    return -1;
  if (x.redirect)
    return diff_fail (d, ENOTSUP, "`%s` is an overlay redirect or metacopy entry: its content is in a lower layer", rel);
  h.xattrs = x.v, h.n_xattrs = x.n;
  if (S_ISREG (st->st_mode))
    {
      const char *first = st->st_nlink > 1 ? seen_link (d, st, rel) : NULL;
      if (first)
        h.type = '1', h.linkname = first;
      else
        {
          h.type = '0', h.size = (uint64_t) st->st_size;
          fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
          if (fd < 0)
            return diff_fail (d, errno, "open `%s`", rel);
        }
    }
  else if (S_ISDIR (st->st_mode))
    h.type = '5';
  else if (S_ISLNK (st->st_mode))
    {
      ssize_t n = readlinkat (dirfd, name, target, sizeof (target) - 1);
      if (n < 0)
        return diff_fail (d, errno, "readlink `%s`", rel);
      target[n] = '\0';
      h.type = '2', h.linkname = target;
    }
  else if (S_ISCHR (st->st_mode) || S_ISBLK (st->st_mode))
    h.type = S_ISCHR (st->st_mode) ? '3' : '4', h.devmajor = major (st->st_rdev), h.devminor = minor (st->st_rdev);
  else if (S_ISFIFO (st->st_mode))
    h.type = '6';
  else
    return 0;
  ret = tar_header (d->out, &h);
  if (ret == 0 && fd >= 0)
    ret = tar_copy_data (d->out, fd, h.size);
  if (ret < 0 && d->err[0] == '\0')
    diff_fail (d, errno, "write the entry of `%s`", rel);
  if (fd >= 0)
    close (fd);
  d->entries++;
  return ret;
}

static int
empty_file (struct diff *d, const char *path, int64_t mtime)
{
  struct tar_hdr h = { .name = path, .type = '0', .mode = 0, .mtime = mtime };
  d->whiteouts++;
  if (tar_header (d->out, &h) < 0)
    return diff_fail (d, errno, "write `%s`", path);
  return 0;
}

int
emit_whiteout (struct diff *d, const char *rel_dir, const char *name, int64_t mtime)
{
  char p[8192];
  snprintf (p, sizeof (p), "%s%s.wh.%s", rel_dir, rel_dir[0] ? "/" : "", name);
  return empty_file (d, p, mtime);
}

int
emit_opaque (struct diff *d, const char *rel_dir, int64_t mtime)
{
  char p[8192];
  snprintf (p, sizeof (p), "%s%s.wh..wh..opq", rel_dir, rel_dir[0] ? "/" : "");
  return empty_file (d, p, mtime);
}

static int
cmp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
list_dir (struct diff *d, int dirfd, char ***names, size_t *n)
{
  int fd = dup (dirfd);
  DIR *dir;
  struct dirent *e;
  size_t cap = 0;
  *names = NULL, *n = 0;
  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    return diff_fail (d, errno, "read a directory");
  rewinddir (dir);
  while ((errno = 0, e = readdir (dir)) != NULL)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      if (*n == cap)
        {
          char **nn = realloc (*names, (cap = cap ? cap * 2 : 32) * sizeof (char *));
          if (nn == NULL)
            return closedir (dir), diff_fail (d, ENOMEM, "out of memory");
          *names = nn;
        }
      (*names)[(*n)++] = strdup (e->d_name);
    }
  closedir (dir);
  qsort (*names, *n, sizeof (char *), cmp);
  return 0;
}

void
free_names (char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
}
