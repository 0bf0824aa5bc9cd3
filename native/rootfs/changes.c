/* `docker diff`: a container's changes as A/C/D paths, with Docker's rules.
 *
 * overlay (moby's overlay2 driver: archive.OverlayChanges): the upper dir walked in lexical
 * order; a 0/0 character device is a deletion, an opaque directory that existed below is a
 * deletion too (its content then shows as added); anything else is an addition, or a change when
 * a lower layer has the path (a directory whose size, mode and mtime match the lower one is not
 * reported); the parent of an addition or a deletion is reported changed once.
 *
 * compare (moby's archive.ChangesDirs, for snapshotters without an upper dir): both trees walked
 * together; a path only in the new tree is added (with everything below it), only in the old one
 * deleted, in both changed when mode, owner, rdev, or (not for directories) size or mtime differ,
 * or security.capability does; a directory with changes inside is reported changed before them.
 *
 * Every tree is walked from directory fds with O_NOFOLLOW; lower layers are looked up with
 * openat2(RESOLVE_IN_ROOT) from each layer's own root, so nothing outside them is consulted.
 * Output: one record per change on stdout, `K` `/path` NUL (K is A, C or D). */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../unpack/resolve.h"

#define PATH_BUF 8192

struct change
{
  char kind;
  char *path;
};

struct changes
{
  struct change *v;
  size_t n, cap;
  const int *lowers;
  size_t nlowers;
  /* overlay: directories already reported (Docker's changedDirs) */
  char **dirs;
  size_t ndirs, capdirs;
};

static int
push_at (struct changes *c, size_t at, char kind, const char *path, bu_error_t *err)
{
  if (c->n == c->cap)
    {
      size_t cap = c->cap ? 2 * c->cap : 256;
      struct change *v = realloc (c->v, cap * sizeof (*v));
      if (v == NULL)
        return bu_sys (err, ENOMEM, "change list");
      c->v = v, c->cap = cap;
    }
  memmove (c->v + at + 1, c->v + at, (c->n - at) * sizeof (*c->v));
  c->v[at] = (struct change) { kind, strdup (path) };
  c->n++;
  return c->v[at].path ? 0 : bu_sys (err, ENOMEM, "change list");
}

static int
push (struct changes *c, char kind, const char *path, bu_error_t *err)
{
  return push_at (c, c->n, kind, path, err);
}

static int
by_name (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Sorted names of an open directory (without . and ..). */
static int
list_names (int dirfd, char ***out, size_t *n, bu_error_t *err)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir (fd);
  struct dirent *de;
  size_t cap = 0;

  *out = NULL, *n = 0;
  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return bu_sys (err, errno, "read directory");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (*n == cap)
        {
          char **g = realloc (*out, (cap = cap ? 2 * cap : 64) * sizeof (char *));
          if (g == NULL)
            break;
          *out = g;
        }
      if (((*out)[(*n)++] = strdup (de->d_name)) == NULL)
        break;
    }
  closedir (d);
  if (errno != 0)
    return bu_sys (err, errno ? errno : ENOMEM, "read directory");
  qsort (*out, *n, sizeof (char *), by_name);
  return 0;
}

static void
free_names (char **names, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
}

static int
same_time (const struct timespec *a, const struct timespec *b)
{
  /* Docker's sameFsTime: equal, or equal seconds when either side lost its nanoseconds. */
  return a->tv_sec == b->tv_sec && (a->tv_nsec == b->tv_nsec || a->tv_nsec == 0 || b->tv_nsec == 0);
}

static int
is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

/* The path's entry in the first lower layer that has one (a whiteout there counts as none). */
static int
lower_stat (struct changes *c, const char *rel, struct stat *st)
{
  for (size_t i = 0; i < c->nlowers; i++)
    {
      int fd = openat2_in_root (c->lowers[i], rel, O_PATH | O_NOFOLLOW);
      if (fd < 0)
        continue;
      int ok = fstat (fd, st) == 0;
      close (fd);
      if (ok)
        return is_whiteout (st) ? 0 : 1;
    }
  return 0;
}

static int
dir_reported (struct changes *c, const char *path)
{
  for (size_t i = c->ndirs; i > 0; i--)
    if (strcmp (c->dirs[i - 1], path) == 0)
      return 1;
  return 0;
}

static int
note_dir (struct changes *c, const char *path, bu_error_t *err)
{
  if (c->ndirs == c->capdirs)
    {
      size_t cap = c->capdirs ? 2 * c->capdirs : 64;
      char **d = realloc (c->dirs, cap * sizeof (char *));
      if (d == NULL)
        return bu_sys (err, ENOMEM, "directory list");
      c->dirs = d, c->capdirs = cap;
    }
  return (c->dirs[c->ndirs++] = strdup (path)) ? 0 : bu_sys (err, ENOMEM, "directory list");
}

static int
walk_upper (struct changes *c, int dirfd, char *rel, size_t rlen, bu_error_t *err)
{
  char **names;
  size_t n;
  int ret = 0;

  if (list_names (dirfd, &names, &n, err) < 0)
    return bu_wrap (err, "`/%s`", rel);
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      struct stat st, lst;
      char kind = 'A';
      int skip = 0;
      snprintf (rel + rlen, PATH_BUF - rlen, "%s%s", rlen ? "/" : "", names[i]);
      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ret = bu_sys (err, errno, "stat `/%s`", rel);
          break;
        }
      if (is_whiteout (&st))
        kind = 'D';
      else if (S_ISDIR (st.st_mode))
        {
          char opq[2];
          char proc[64 + 4096];
          snprintf (proc, sizeof (proc), "/proc/self/fd/%d/%s", dirfd, names[i]);
          if (lgetxattr (proc, "trusted.overlay.opaque", opq, sizeof (opq)) == 1 && opq[0] == 'y' && lower_stat (c, rel, &lst))
            kind = 'D';
        }
      if (kind == 'A' && lower_stat (c, rel, &lst))
        {
          kind = 'C';
          if (S_ISDIR (st.st_mode) && S_ISDIR (lst.st_mode) && st.st_size == lst.st_size && st.st_mode == lst.st_mode && same_time (&st.st_mtim, &lst.st_mtim))
            skip = 1; /* only a parent of changes: not reported for itself */
        }
      if (!skip)
        {
          char parent[PATH_BUF + 1];
          if (S_ISDIR (st.st_mode))
            ret = note_dir (c, rel, err);
          if (ret == 0 && kind != 'C' && rlen > 0)
            {
              snprintf (parent, sizeof (parent), "%.*s", (int) rlen, rel);
              if (!dir_reported (c, parent))
                {
                  char p[PATH_BUF + 2];
                  snprintf (p, sizeof (p), "/%s", parent);
                  ret = push (c, 'C', p, err);
                  if (ret == 0)
                    ret = note_dir (c, parent, err);
                }
            }
          if (ret == 0)
            {
              char p[PATH_BUF + 2];
              snprintf (p, sizeof (p), "/%s", rel);
              ret = push (c, kind, p, err);
            }
        }
      if (ret == 0 && S_ISDIR (st.st_mode))
        {
          int sub = openat (dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          ret = sub < 0 ? bu_sys (err, errno, "open `/%s`", rel) : walk_upper (c, sub, rel, strlen (rel), err);
          if (sub >= 0)
            close (sub);
        }
      rel[rlen] = 0;
    }
  free_names (names, n);
  return ret;
}

static ssize_t
capability (int dirfd, const char *name, char *buf, size_t cap)
{
  char proc[64 + 4096];
  snprintf (proc, sizeof (proc), "/proc/self/fd/%d/%s", dirfd, name);
  ssize_t n = lgetxattr (proc, "security.capability", buf, cap);
  return n < 0 ? 0 : n;
}

static int
stat_different (const struct stat *a, const struct stat *b)
{
  return a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid || a->st_rdev != b->st_rdev
         || (!S_ISDIR (a->st_mode) && (!same_time (&a->st_mtim, &b->st_mtim) || a->st_size != b->st_size));
}

/* Docker's FileInfo.addChanges: `new` (a directory fd, or -1) against `old` (or -1). */
static int
compare_dir (struct changes *c, int newfd, int oldfd, char *rel, size_t rlen, int added, bu_error_t *err)
{
  char **nn = NULL, **on = NULL;
  size_t nnew = 0, nold = 0, i = 0, j = 0, at = c->n;
  int ret = 0;

  if (list_names (newfd, &nn, &nnew, err) < 0 || (oldfd >= 0 && list_names (oldfd, &on, &nold, err) < 0))
    {
      free_names (nn, nnew);
      return bu_wrap (err, "`/%s`", rel);
    }
  while (ret == 0 && (i < nnew || j < nold))
    {
      int cmp = i == nnew ? 1 : j == nold ? -1 : strcmp (nn[i], on[j]);
      const char *name = cmp <= 0 ? nn[i] : on[j];
      char p[PATH_BUF + 2];
      struct stat ns, os;
      snprintf (rel + rlen, PATH_BUF - rlen, "%s%s", rlen ? "/" : "", name);
      snprintf (p, sizeof (p), "/%s", rel);
      if (cmp > 0)
        ret = push (c, 'D', p, err), j++; /* only in the old tree */
      else if (fstatat (newfd, name, &ns, AT_SYMLINK_NOFOLLOW) < 0)
        ret = bu_sys (err, errno, "stat `%s`", p);
      else
        {
          int child_added = 0, sub;
          if (cmp < 0)
            ret = push (c, 'A', p, err), child_added = 1;
          else if (fstatat (oldfd, name, &os, AT_SYMLINK_NOFOLLOW) < 0)
            ret = bu_sys (err, errno, "stat `%s`", p);
          else
            {
              char ca[256], cb[256];
              ssize_t la = capability (newfd, name, ca, sizeof (ca)), lb = capability (oldfd, name, cb, sizeof (cb));
              if (stat_different (&os, &ns) || la != lb || memcmp (ca, cb, (size_t) la) != 0)
                ret = push (c, 'C', p, err), child_added = 1;
            }
          if (ret == 0 && S_ISDIR (ns.st_mode))
            {
              int osub = -1;
              sub = openat (newfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
              if (cmp == 0 && S_ISDIR (os.st_mode))
                osub = openat (oldfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
              ret = sub < 0 ? bu_sys (err, errno, "open `%s`", p) : compare_dir (c, sub, osub, rel, strlen (rel), child_added, err);
              if (sub >= 0)
                close (sub);
              if (osub >= 0)
                close (osub);
            }
          i++;
          if (cmp == 0)
            j++;
        }
      rel[rlen] = 0;
    }
  free_names (nn, nnew);
  free_names (on, nold);
  /* Changes inside a directory not reported itself: it comes first, before them. */
  if (ret == 0 && c->n > at && !added && rlen > 0)
    {
      char p[PATH_BUF + 2];
      snprintf (p, sizeof (p), "/%s", rel);
      ret = push_at (c, at, 'C', p, err);
    }
  return ret;
}

int
list_changes (int upperfd, const int *lowers, size_t nlowers, int compare, bu_error_t *err)
{
  struct changes c = { .lowers = lowers, .nlowers = nlowers };
  char rel[PATH_BUF] = "";
  int ret = compare ? compare_dir (&c, upperfd, nlowers ? lowers[0] : -1, rel, 0, 0, err) : walk_upper (&c, upperfd, rel, 0, err);

  for (size_t i = 0; i < c.n; i++)
    {
      if (ret == 0)
        {
          char kind[1] = { c.v[i].kind };
          if (write_all (1, kind, 1) < 0 || write_all (1, c.v[i].path, strlen (c.v[i].path) + 1) < 0)
            ret = bu_sys (err, errno, "write the changes");
        }
      free (c.v[i].path);
    }
  free (c.v);
  for (size_t i = 0; i < c.ndirs; i++)
    free (c.dirs[i]);
  free (c.dirs);
  return ret;
}
