#include "apply.h"

#include <dirent.h>
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

/* create_entry: the name is taken (nothing was created). */
#define EXISTS 1

/* 1 when the directory (an O_PATH fd) has no entries. */
static int
dir_is_empty (int pathfd)
{
  DIR *d;
  struct dirent *de;
  int fd = openat (pathfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), empty = 1;

  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return 0;
    }
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      {
        empty = 0;
        break;
      }
  closedir (d);
  return empty;
}

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
  a->euid = geteuid ();
  a->egid = getegid ();
  a->root_user = a->euid == 0;
  a->pcache_fd = -1;
  /* A default ACL on the root itself would mask the modes of what is created in it. */
  a->fresh = dir_is_empty (a->rootfd) && getxattr (root, "system.posix_acl_default", NULL, 0) < 0 && errno == ENODATA;
  return 0;
}

void
applier_forget_parent (struct applier *a)
{
  if (a->pcache_fd >= 0)
    close (a->pcache_fd);
  a->pcache_fd = -1;
  free (a->pcache_path);
  a->pcache_path = NULL;
}

/* The entry's parent directory, resolved in-root (and created if missing) once per run of
 * entries sharing it. The cache holds only while nothing is removed: creating entries cannot
 * change what an existing path resolves to, removing or replacing one can. Borrowed: not to be
 * closed by the caller. */
static int
parent_fd (struct applier *a, const char *parent, bu_error_t *err)
{
  struct stat st;
  int fd;

  if (a->pcache_fd >= 0 && strcmp (a->pcache_path, parent) == 0)
    return a->pcache_fd;
  applier_forget_parent (a);
  fd = open_dir_in_root (a->rootfd, parent, 1, &a->parents, err);
  if (fd < 0)
    return -1;
  a->pcache_path = strdup (parent);
  if (a->pcache_path == NULL || fstat (fd, &st) < 0)
    {
      int e = a->pcache_path ? errno : ENOMEM;
      close (fd);
      free (a->pcache_path);
      a->pcache_path = NULL;
      return bu_sys (err, e, "directory `%s`", parent);
    }
  a->pcache_fd = fd;
  a->pcache_gid = st.st_gid;
  a->pcache_setgid = (st.st_mode & S_ISGID) != 0;
  return fd;
}

/* Whether an inode just created in pfd has the entry's owner already: a new inode belongs to our
 * euid and egid, or the group of a setgid parent (known for the cached parent only). */
static int
owner_is_set (const struct applier *a, int pfd, const struct tar_entry *e)
{
  if (!a->root_user)
    return 1; /* not chowned at all */
  if (pfd != a->pcache_fd || pfd < 0)
    return 0;
  return (uid_t) e->uid == a->euid && (gid_t) e->gid == (a->pcache_setgid ? a->pcache_gid : a->egid);
}

void
applier_free (struct applier *a)
{
  size_t i;

  applier_forget_parent (a);
  if (a->rootfd >= 0)
    close (a->rootfd);
  for (i = 0; i < a->ndirs; i++)
    free (a->dirs[i].path);
  free (a->dirs);
  pathset_free (&a->written);
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
  if (meta_fd (a, fd, e, path, META_CHOWN | META_CHMOD, err) < 0)
    return -1;
  return defer_dir_times (a, path, e, err);
}

static int
create_file (struct applier *a, int pfd, const char *base, const char *path, struct tar_entry *e, struct reader *r, bu_error_t *err)
{
  cleanup_close int fd = -1;
  /* Created with its final permission bits where nothing can alter them (no default ACL in a
   * fresh tree; no setuid/setgid bits, which chown would clear; no xattrs, which may be ACLs):
   * fchmod is then left out, and fchown where the new inode has the entry's owner already. */
  int exact_mode = a->fresh && !a->acl_default_seen && e->nxattrs == 0 && (e->mode & 07000) == 0;
  unsigned what = META_TIMES | (exact_mode ? 0 : META_CHMOD) | (owner_is_set (a, pfd, e) ? 0 : META_CHOWN);

  fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exact_mode ? (mode_t) (e->mode & 0777) : 0600);
  if (fd < 0 && errno == EEXIST)
    return EXISTS;
  if (fd < 0)
    return bu_sys (err, errno, "create `%s`", path);
  if (rd_copy (r, fd, e->size, err) < 0)
    return bu_wrap (err, "`%s`", path);
  return meta_fd (a, fd, e, path, what, err);
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
    return errno == EEXIST ? EXISTS : bu_sys (err, errno, "hardlink `%s` to `%.200s`", path, e->linkpath);
  return 0;
}

/* Creates the entry at (pfd, base); EXISTS when the name is taken (nothing was done then, and
 * no data was read). `existing_dir`: a directory entry over a directory already there only
 * takes the new metadata (containerd's createTarFile). */
static int
create_entry (struct applier *a, int pfd, const char *base, const char *path, struct tar_entry *e, struct reader *r,
              int existing_dir, bu_error_t *err)
{
  switch (e->type)
    {
    case '0':
      return create_file (a, pfd, base, path, e, r, err);
    case '5':
      if (!existing_dir && mkdirat (pfd, base, 0700) < 0)
        return errno == EEXIST ? EXISTS : bu_sys (err, errno, "mkdir `%s`", path);
      return apply_dir_meta (a, pfd, base, path, e, err);
    case '2':
      if (symlinkat (e->linkpath, pfd, base) < 0)
        return errno == EEXIST ? EXISTS : bu_sys (err, errno, "symlink `%s`", path);
      return meta_at (a, pfd, base, e, path, !owner_is_set (a, pfd, e), err);
    case '1':
      return create_hardlink (a, pfd, base, path, e, err);
    case '3':
    case '4':
    case '6':
      {
        mode_t kind = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
        if (mknodat (pfd, base, kind | (e->mode & 0777), makedev (e->devmajor, e->devminor)) < 0)
          return errno == EEXIST ? EXISTS : bu_sys (err, errno, "mknod `%s`", path);
        return meta_at (a, pfd, base, e, path, !owner_is_set (a, pfd, e), err);
      }
    default:
      return bu_invalid (err, 0, "entry `%s`: unsupported type", path);
    }
}

/* With --min-free: ENOSPC before the entry would leave less than min_free bytes free, so the
 * daemon's metadata can still commit (src/core/node/space.ts). Each entry counts its data plus a
 * block for its inode and directory entry; statfs is asked again once an eighth of the margin
 * it last saw is used up: the daemon's ingests and several extractions write at the same time,
 * and their shares together must stay within the margin. */
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
  a->budget = (free_bytes - a->min_free - need) / 8;
  return 0;
}

int
apply_entry (struct applier *a, struct tar_entry *e, struct reader *r, bu_error_t *err)
{
  size_t n = strlen (e->path);
  cleanup_free char *path = malloc (n + 1);
  cleanup_free char *parent = malloc (n + 1);
  int pfd, rc;
  const char *base;
  struct stat st;

  if (path == NULL || parent == NULL)
    return bu_sys (err, ENOMEM, "entry");
  a->entries++;
  clean_path (e->path, path);

  if (path[0] == 0)
    {
      /* The root itself ("./"): ignored, as containerd's applier ignores an entry that resolves to
       * the root. The root is the snapshot's own directory: its mode, owner and times stay the
       * snapshotter's. */
      if (e->type != '5')
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
  pfd = parent_fd (a, parent, err);
  if (pfd < 0)
    return bu_wrap (err, "entry `%.200s`", e->path);

  /* Created straight away: in a fresh tree nothing is in the way, and a create that finds the
   * name taken has changed nothing. Then whatever is there is replaced (recursively for a
   * directory), except dir over dir, which keeps the contents. */
  rc = create_entry (a, pfd, base, path, e, r, 0, err);
  if (rc == EXISTS)
    {
      int dir_over_dir;
      if (fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return bu_sys (err, errno, "stat `%s`", path);
      dir_over_dir = S_ISDIR (st.st_mode) && e->type == '5';
      if (!dir_over_dir)
        {
          /* pfd is ours now: the cache is dropped before anything is removed. */
          int own = dup (pfd);
          applier_forget_parent (a);
          if (own < 0)
            return bu_sys (err, errno, "dup");
          rc = remove_all_at (own, base, err);
          if (rc < 0)
            bu_wrap (err, "replace `%s`", path);
          else
            rc = create_entry (a, own, base, path, e, r, 0, err);
          close (own);
          if (rc == EXISTS)
            return bu_invalid (err, EEXIST, "entry `%s`: created concurrently", path);
        }
      else
        rc = create_entry (a, pfd, base, path, e, r, 1, err);
    }
  if (rc < 0)
    return -1;
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
