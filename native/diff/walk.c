/* The two ways to find changes: an overlay upper dir holds exactly them (a 0/0 character device
 * is a deletion, trusted.overlay.opaque=y a directory whose lower content is hidden); two plain
 * trees are compared as containerd's walking differ does (fs.Changes, sameFile). */
#include "diff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
join_rel (char *out, size_t cap, const char *rel, const char *name)
{
  snprintf (out, cap, "%s%s%s", rel, rel[0] ? "/" : "", name);
}

static int
open_dir (struct diff *d, int dirfd, const char *name, const char *rel)
{
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return diff_fail (d, errno, "open directory `%s`", rel);
  return fd;
}

/* Every entry below dirfd (an added directory, or all of an overlay upper dir). In an overlay upper
   dir a 0/0 character device is a deletion and an opaque directory hides the lower one's content;
   in a plain tree they are what they are. */
int
walk_tree (struct diff *d, int dirfd, const char *rel)
{
  char **names;
  size_t n;
  int ret = 0;
  if (list_dir (d, dirfd, &names, &n) < 0)
    return -1;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      static struct xattrs x;
      char path[8192];
      struct stat st;
      int sub;
      join_rel (path, sizeof (path), rel, names[i]);
      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        ret = diff_fail (d, errno, "stat `%s`", path);
      else if (d->overlay && S_ISCHR (st.st_mode) && st.st_rdev == 0)
        ret = emit_whiteout (d, rel, names[i], st.st_mtime);
      else if ((ret = emit_entry (d, dirfd, names[i], path, &st)) < 0 || !S_ISDIR (st.st_mode))
        ;
      else if (d->overlay && ((ret = read_xattrs (d, dirfd, names[i], &x)) < 0 || (x.opaque && (ret = emit_opaque (d, path, st.st_mtime)) < 0)))
        ;
      else if ((sub = open_dir (d, dirfd, names[i], path)) < 0)
        ret = -1;
      else
        {
          ret = walk_tree (d, sub, path);
          close (sub);
        }
    }
  free_names (names, n);
  return ret;
}

/* Directories between the root and a change are written before it, once (containerd's parents). */
struct pending
{
  int dirfd;
  const char *name;
  const char *rel;
  struct stat st;
  int written;
  struct pending *up;
};

static int
flush_parents (struct diff *d, struct pending *p)
{
  if (p == NULL || p->written)
    return 0;
  if (flush_parents (d, p->up) < 0)
    return -1;
  p->written = 1;
  return p->name ? emit_entry (d, p->dirfd, p->name, p->rel, &p->st) : 0;
}

static int
same_xattrs (struct diff *d, int lfd, int ufd, const char *name)
{
  static struct xattrs a, b;
  if (read_xattrs (d, lfd, name, &a) < 0 || read_xattrs (d, ufd, name, &b) < 0)
    return -1;
  if (a.n != b.n)
    return 0;
  for (size_t i = 0; i < a.n; i++)
    {
      size_t j = 0;
      while (j < b.n && strcmp (a.v[i].name, b.v[j].name) != 0)
        j++;
      if (j == b.n || a.v[i].len != b.v[j].len || memcmp (a.v[i].value, b.v[j].value, a.v[i].len) != 0)
        return 0;
    }
  return 1;
}

static int
same_content (struct diff *d, int lfd, int ufd, const char *name, const struct stat *st)
{
  char a[65536], b[65536];
  int fa, fb, same = 1;
  if (S_ISLNK (st->st_mode))
    {
      ssize_t na = readlinkat (lfd, name, a, sizeof (a)), nb = readlinkat (ufd, name, b, sizeof (b));
      return na >= 0 && na == nb && memcmp (a, b, (size_t) na) == 0;
    }
  if (!S_ISREG (st->st_mode) || st->st_size == 0)
    return 1;
  fa = openat (lfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  fb = openat (ufd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fa < 0 || fb < 0)
    same = diff_fail (d, errno, "open `%s` to compare", name);
  while (same == 1)
    {
      ssize_t na = read (fa, a, sizeof (a)), nb = read (fb, b, sizeof (b));
      if (na < 0 || nb < 0)
        same = diff_fail (d, errno, "read `%s` to compare", name);
      else if (na != nb || memcmp (a, b, (size_t) na) != 0)
        same = 0;
      else if (na == 0)
        break;
    }
  if (fa >= 0)
    close (fa);
  if (fb >= 0)
    close (fb);
  return same;
}

/* containerd's sameFile: 1 same, 0 changed, -1 error. */
static int
same_file (struct diff *d, int lfd, int ufd, const char *name, const struct stat *a, const struct stat *b)
{
  if (a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid || a->st_rdev != b->st_rdev)
    return 0;
  int x = same_xattrs (d, lfd, ufd, name);
  if (x <= 0)
    return x;
  if (S_ISDIR (a->st_mode))
    return 1;
  if (a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec)
    return 0;
  /* Both times may have been truncated to seconds (a tar): then only the content tells. */
  if (a->st_mtim.tv_nsec == 0 && b->st_mtim.tv_nsec == 0)
    return same_content (d, lfd, ufd, name, b);
  return a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int
compare_dir (struct diff *d, int lfd, int ufd, const char *rel, struct pending *me)
{
  char **ln, **un;
  size_t nl, nu, i = 0, j = 0;
  int ret = 0;
  if (list_dir (d, lfd, &ln, &nl) < 0)
    return -1;
  if (list_dir (d, ufd, &un, &nu) < 0)
    return free_names (ln, nl), -1;
  while (ret == 0 && (i < nl || j < nu))
    {
      int c = i == nl ? 1 : j == nu ? -1 : strcmp (ln[i], un[j]);
      const char *name = c < 0 ? ln[i] : un[j];
      char path[8192];
      struct stat ls, us;
      join_rel (path, sizeof (path), rel, name);
      if (c < 0)
        {
          /* Only in the lower tree: deleted. */
          if (fstatat (lfd, name, &ls, AT_SYMLINK_NOFOLLOW) < 0)
            ret = diff_fail (d, errno, "stat `%s`", path);
          else if ((ret = flush_parents (d, me)) == 0)
            ret = emit_whiteout (d, rel, name, ls.st_mtime);
          i++;
          continue;
        }
      if (fstatat (ufd, name, &us, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ret = diff_fail (d, errno, "stat `%s`", path);
          break;
        }
      int both = c == 0, same = 0;
      if (both && fstatat (lfd, name, &ls, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ret = diff_fail (d, errno, "stat `%s`", path);
          break;
        }
      if (both && (ls.st_mode & S_IFMT) == (us.st_mode & S_IFMT) && (same = same_file (d, lfd, ufd, name, &ls, &us)) < 0)
        {
          ret = -1;
          break;
        }
      if (both && S_ISDIR (us.st_mode) && S_ISDIR (ls.st_mode))
        {
          /* A directory on both sides: written when it changed, or as the parent of a change. */
          struct pending sub = { ufd, name, path, us, 0, me };
          int l2 = open_dir (d, lfd, name, path), u2 = l2 < 0 ? -1 : open_dir (d, ufd, name, path);
          if (!same && (ret = flush_parents (d, &sub)) < 0)
            ;
          else if (l2 < 0 || u2 < 0)
            ret = -1;
          else
            {
              sub.dirfd = ufd;
              ret = compare_dir (d, l2, u2, path, &sub);
            }
          if (l2 >= 0)
            close (l2);
          if (u2 >= 0)
            close (u2);
        }
      else if (!same)
        {
          /* Added, or changed (a new type replaces the old entry whole). */
          if ((ret = flush_parents (d, me)) == 0 && (ret = emit_entry (d, ufd, name, path, &us)) == 0 && S_ISDIR (us.st_mode))
            {
              int sub = open_dir (d, ufd, name, path);
              ret = sub < 0 ? -1 : walk_tree (d, sub, path);
              if (sub >= 0)
                close (sub);
            }
        }
      if (c == 0)
        i++;
      j++;
    }
  free_names (ln, nl);
  free_names (un, nu);
  return ret;
}

int
walk_compare (struct diff *d, int lfd, int ufd, const char *rel)
{
  struct pending root = { -1, NULL, rel, { 0 }, 1, NULL };
  return compare_dir (d, lfd, ufd, rel, &root);
}
