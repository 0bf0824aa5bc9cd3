#include "apply.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "resolve.h"

int
applier_init (struct applier *a, const char *root, int overlay, bu_error_t *err)
{
  memset (a, 0, sizeof (*a));
  a->rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (a->rootfd < 0)
    {
      int e = errno;
      a->rootfd = -1;
      bu_sys (err, e, "open root `%s`", root);
      err->invalid = 0;
      return -1;
    }
  a->overlay = overlay;
  a->root_user = geteuid () == 0;
  return 0;
}

void
applier_free (struct applier *a)
{
  size_t i;

  if (a->rootfd >= 0)
    close (a->rootfd);
  for (i = 0; i < a->ndirs; i++)
    free (a->dirs[i].path);
  free (a->dirs);
  pathset_free (&a->written);
}

static void
entry_times (const struct tar_entry *e, struct timespec ts[2])
{
  ts[1] = e->mtime;
  ts[0] = e->mtime;
  if (e->has_atime && (e->atime.tv_sec > e->mtime.tv_sec
                       || (e->atime.tv_sec == e->mtime.tv_sec && e->atime.tv_nsec > e->mtime.tv_nsec)))
    ts[0] = e->atime;
}

/* Layer xattrs that would steer overlayfs itself are never taken from the archive. */
static int
skip_xattr (const char *name)
{
  return strncmp (name, "trusted.overlay.", 16) == 0;
}

static int
xattr_failed (int e, const char *name, const char *path, bu_error_t *err)
{
  if (e == ENOTSUP || e == EOPNOTSUPP || e == EPERM)
    {
      emit_warning ("xattr %s on `%s` not supported here, skipped", name, path);
      return 0;
    }
  return bu_sys (err, e, "set xattr %s on `%s`", name, path);
}

/* Owner, xattrs, mode (after chown: chown clears setuid bits), then times, all on the open
 * inode: no path is looked up again. */
static int
meta_fd (struct applier *a, int fd, const struct tar_entry *e, const char *path, int times, bu_error_t *err)
{
  size_t i;

  if (a->root_user && fchown (fd, (uid_t) e->uid, (gid_t) e->gid) < 0)
    return bu_sys (err, errno, "chown `%s`", path);
  for (i = 0; i < e->nxattrs; i++)
    {
      if (skip_xattr (e->xattrs[i].name))
        continue;
      if (fsetxattr (fd, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0) < 0
          && xattr_failed (errno, e->xattrs[i].name, path, err) < 0)
        return -1;
    }
  if (fchmod (fd, e->mode) < 0)
    return bu_sys (err, errno, "chmod `%s`", path);
  if (times)
    {
      struct timespec ts[2];
      entry_times (e, ts);
      if (futimens (fd, ts) < 0)
        return bu_sys (err, errno, "set times of `%s`", path);
    }
  return 0;
}

/* The same for symlinks, devices and fifos, which cannot be opened safely: (pfd, base) with
 * the final component never followed. */
static int
meta_at (struct applier *a, int pfd, const char *base, const struct tar_entry *e, const char *path, bu_error_t *err)
{
  struct timespec ts[2];
  size_t i;

  if (a->root_user && fchownat (pfd, base, (uid_t) e->uid, (gid_t) e->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return bu_sys (err, errno, "chown `%s`", path);
  for (i = 0; i < e->nxattrs; i++)
    {
      char proc[64 + 4096];
      if (skip_xattr (e->xattrs[i].name))
        continue;
      /* The magic link names the in-root parent; the base is not followed (lsetxattr). */
      snprintf (proc, sizeof (proc), "/proc/self/fd/%d/%s", pfd, base);
      if (lsetxattr (proc, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0) < 0
          && xattr_failed (errno, e->xattrs[i].name, path, err) < 0)
        return -1;
    }
  if (e->type != '2' && fchmodat (pfd, base, e->mode, AT_SYMLINK_NOFOLLOW) < 0)
    return bu_sys (err, errno, "chmod `%s`", path);
  entry_times (e, ts);
  if (utimensat (pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return bu_sys (err, errno, "set times of `%s`", path);
  return 0;
}

static int
defer_dir_times (struct applier *a, const char *path, const struct tar_entry *e, bu_error_t *err)
{
  if (a->ndirs == a->capdirs)
    {
      size_t ncap = a->capdirs ? a->capdirs * 2 : 256;
      struct dirtime *n = realloc (a->dirs, ncap * sizeof (*n));
      if (n == NULL)
        return bu_sys (err, ENOMEM, "directory list");
      a->dirs = n;
      a->capdirs = ncap;
    }
  a->dirs[a->ndirs].path = strdup (path);
  if (a->dirs[a->ndirs].path == NULL)
    return bu_sys (err, ENOMEM, "directory list");
  entry_times (e, a->dirs[a->ndirs].ts);
  a->ndirs++;
  return 0;
}

static int
apply_dir_meta (struct applier *a, int pfd, const char *base, const char *path, const struct tar_entry *e, bu_error_t *err)
{
  cleanup_close int fd = -1;

  fd = openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return bu_sys (err, errno, "open directory `%s`", path);
  if (meta_fd (a, fd, e, path, 0, err) < 0)
    return -1;
  return defer_dir_times (a, path, e, err);
}

static int
create_file (struct applier *a, int pfd, const char *base, const char *path, struct tar_entry *e, struct reader *r, bu_error_t *err)
{
  cleanup_close int fd = -1;

  fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return bu_sys (err, errno, "create `%s`", path);
  if (rd_copy (r, fd, e->size, err) < 0)
    return bu_wrap (err, "`%s`", path);
  return meta_fd (a, fd, e, path, 1, err);
}

static int
create_hardlink (struct applier *a, int pfd, const char *base, const char *path, const struct tar_entry *e, bu_error_t *err)
{
  size_t n = strlen (e->linkpath);
  cleanup_free char *target = malloc (n + 1);
  cleanup_free char *tparent = malloc (n + 1);
  cleanup_close int tpfd = -1;
  const char *tbase;

  if (target == NULL || tparent == NULL)
    return bu_sys (err, ENOMEM, "hardlink");
  clean_path (e->linkpath, target);
  if (target[0] == 0)
    return bu_invalid (err, 0, "hardlink `%s`: invalid target `%.200s`", path, e->linkpath);
  split_path (target, tparent, &tbase);
  {
    /* Missing components and dangling links resolve lexically as in containerd's RootPath. */
    char canon[4096 + 1];
    if (root_path (a->rootfd, tparent, canon, sizeof (canon), err) < 0)
      return -1;
    tpfd = openat2_in_root (a->rootfd, canon, O_PATH | O_DIRECTORY);
  }
  /* The target's parent is resolved in-root like any other path; the target itself is not
   * followed (a hardlink to a symlink links the symlink: CVE-2021-32760). */
  if (tpfd < 0)
    return bu_invalid (err, errno, "hardlink `%s`: target `%.200s`", path, e->linkpath);
  if (linkat (tpfd, tbase, pfd, base, 0) < 0)
    return bu_sys (err, errno, "hardlink `%s` to `%.200s`", path, e->linkpath);
  return 0;
}

/* With --min-free: ENOSPC before the entry would leave less than min_free bytes free, so the
 * daemon's metadata can still commit (src/core/node/space.ts). Each entry counts its data plus a
 * block for its inode and directory entry; statfs is asked again once half the margin it last
 * allowed is used up. */
static int
check_space (struct applier *a, const struct tar_entry *e, const char *path, bu_error_t *err)
{
  uint64_t need = (e->type == '0' ? (uint64_t) e->size : 0) + 4096;
  struct statfs st;
  uint64_t free_bytes;

  if (a->min_free == 0)
    return 0;
  if (need <= a->budget)
    {
      a->budget -= need;
      return 0;
    }
  if (fstatfs (a->rootfd, &st) < 0)
    return 0; /* cannot tell: the write itself fails if it must */
  free_bytes = (uint64_t) st.f_bavail * (uint64_t) st.f_bsize;
  if (free_bytes < a->min_free + need)
    return bu_sys (err, ENOSPC, "`%s`: %.1f MiB free, and %.1f MiB are kept free for the daemon's metadata", path,
                   (double) free_bytes / 1048576, (double) a->min_free / 1048576);
  a->budget = (free_bytes - a->min_free - need) / 2;
  return 0;
}

int
apply_entry (struct applier *a, struct tar_entry *e, struct reader *r, bu_error_t *err)
{
  size_t n = strlen (e->path);
  cleanup_free char *path = malloc (n + 1);
  cleanup_free char *parent = malloc (n + 1);
  cleanup_close int pfd = -1;
  const char *base;
  struct stat st;
  int exists;

  if (path == NULL || parent == NULL)
    return bu_sys (err, ENOMEM, "entry");
  a->entries++;
  clean_path (e->path, path);

  if (path[0] == 0)
    {
      /* The root itself ("./"): only a directory entry means something (its metadata). */
      if (e->type == '5')
        {
          a->root_entry = 1;
          cleanup_close int fd = openat2_in_root (a->rootfd, "", O_RDONLY | O_DIRECTORY);
          if (fd < 0)
            return bu_sys (err, errno, "open root");
          if (meta_fd (a, fd, e, "/", 0, err) < 0)
            return -1;
          if (defer_dir_times (a, "", e, err) < 0)
            return -1;
        }
      else
        emit_warning ("entry `%.200s` names the root, skipped", e->path);
      if (rd_copy (r, -1, e->size, err) < 0)
        return -1;
      return tar_skip_padding (r, e, err);
    }

  split_path (path, parent, &base);
  if (strncmp (base, ".wh.", 4) == 0)
    {
      a->whiteouts++;
      if (apply_whiteout (a, parent, base, e, err) < 0)
        return -1;
      if (rd_copy (r, -1, e->size, err) < 0)
        return -1;
      return tar_skip_padding (r, e, err);
    }

  if (check_space (a, e, path, err) < 0)
    return -1;
  pfd = open_dir_in_root (a->rootfd, parent, 1, &a->parents, err);
  if (pfd < 0)
    return bu_wrap (err, "entry `%.200s`", e->path);

  exists = fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT)
    return bu_sys (err, errno, "stat `%s`", path);
  /* Replace whatever is there (recursively for a directory), except dir over dir, which
   * keeps the contents and only takes the new metadata (containerd's createTarFile). */
  if (exists && !(S_ISDIR (st.st_mode) && e->type == '5'))
    {
      if (remove_all_at (pfd, base, err) < 0)
        return bu_wrap (err, "replace `%s`", path);
      exists = 0;
    }

  switch (e->type)
    {
    case '0':
      if (create_file (a, pfd, base, path, e, r, err) < 0)
        return -1;
      break;
    case '5':
      if (!exists && mkdirat (pfd, base, 0700) < 0)
        return bu_sys (err, errno, "mkdir `%s`", path);
      if (apply_dir_meta (a, pfd, base, path, e, err) < 0)
        return -1;
      break;
    case '2':
      if (symlinkat (e->linkpath, pfd, base) < 0)
        return bu_sys (err, errno, "symlink `%s`", path);
      if (meta_at (a, pfd, base, e, path, err) < 0)
        return -1;
      break;
    case '1':
      if (create_hardlink (a, pfd, base, path, e, err) < 0)
        return -1;
      break;
    case '3':
    case '4':
    case '6':
      {
        mode_t kind = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
        if (mknodat (pfd, base, kind | (e->mode & 0777), makedev (e->devmajor, e->devminor)) < 0)
          return bu_sys (err, errno, "mknod `%s`", path);
        if (meta_at (a, pfd, base, e, path, err) < 0)
          return -1;
        break;
      }
    default:
      return bu_invalid (err, 0, "entry `%s`: unsupported type", path);
    }
  if (mark_written (a, path, err) < 0)
    return -1;
  if (e->type != '0' && rd_copy (r, -1, e->size, err) < 0)
    return -1;
  return tar_skip_padding (r, e, err);
}

int
apply_finish (struct applier *a, bu_error_t *err)
{
  size_t i;

  for (i = a->ndirs; i > 0; i--)
    {
      struct dirtime *d = &a->dirs[i - 1];
      /* Re-resolved in-root; a directory later replaced (by a symlink or file) is skipped. */
      cleanup_close int fd = openat2_in_root (a->rootfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (fd < 0)
        {
          if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            continue;
          return bu_sys (err, errno, "open directory `%s`", d->path);
        }
      if (futimens (fd, d->ts) < 0)
        return bu_sys (err, errno, "set times of `%s`", d->path);
    }
  return 0;
}
