/* cp out of a container and export: a tar of a path in the root, walked from directory fds with
 * O_NOFOLLOW (a symlink is archived as a link, never followed), in lexical order. Like Docker's
 * archive: sockets are left out, times are whole seconds, hardlinks within the archive are tar
 * hardlinks. Mounts below the path are crossed (a running container's volumes are part of its
 * view), except kernel pseudo-filesystems (proc, sysfs, cgroup...), whose directories are
 * archived empty. Owners are the container's ids (mapped back through its user namespace). */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../unpack/resolve.h"
#include "../diff/tarw.h"

#define PATH_BUF 8192
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202 /* not in every linux/magic.h */
#endif

struct archiver
{
  const struct archive_opts *o;
  struct
  {
    dev_t dev;
    ino_t ino;
    char *name;
  } *links;
  size_t nlinks, caplinks;
  uint64_t entries, bytes;
};

static char names_buf[BR_XATTR_NAMES], values_buf[BR_XATTR_VALUES];

/* Host id → container id through "C:H:N,..." maps; 65534 (the overflow id) when unmapped. */
static uint64_t
to_container (const char *map, uint64_t id)
{
  if (map == NULL || map[0] == 0)
    return id;
  for (const char *p = map; p && *p; p = strchr (p, ','), p = p ? p + 1 : NULL)
    {
      unsigned long long c, h, n;
      if (sscanf (p, "%llu:%llu:%llu", &c, &h, &n) == 3 && id >= h && id < h + n)
        return c + (id - h);
    }
  return 65534;
}

static int
pseudo_fs (int fd)
{
  struct statfs s;
  if (fstatfs (fd, &s) < 0)
    return 0;
  switch ((unsigned long) s.f_type)
    {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case MQUEUE_MAGIC:
    case SECURITYFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
    case PSTOREFS_MAGIC:
    case SELINUX_MAGIC:
    case NSFS_MAGIC:
    case BINFMTFS_MAGIC:
      return 1;
    default:
      return 0;
    }
}

/* The archive name of an inode with more links seen before, or NULL (and it is remembered). */
static const char *
seen_before (struct archiver *a, const struct stat *st, const char *name)
{
  for (size_t i = 0; i < a->nlinks; i++)
    if (a->links[i].dev == st->st_dev && a->links[i].ino == st->st_ino)
      return a->links[i].name;
  if (a->nlinks == a->caplinks)
    {
      size_t cap = a->caplinks ? 2 * a->caplinks : 64;
      void *n = realloc (a->links, cap * sizeof (*a->links));
      if (n == NULL)
        return NULL;
      a->links = n, a->caplinks = cap;
    }
  a->links[a->nlinks].dev = st->st_dev, a->links[a->nlinks].ino = st->st_ino;
  if ((a->links[a->nlinks].name = strdup (name)) != NULL)
    a->nlinks++;
  return NULL;
}

static int archive_dir (struct archiver *a, int dirfd, char *name, size_t nlen, bu_error_t *err);

/* One entry: (dirfd, base) inside the root, archived as `name`. */
static int
archive_node (struct archiver *a, int dirfd, const char *base, char *name, size_t nlen, const struct stat *st, bu_error_t *err)
{
  struct meta m = { 0 };
  struct tar_xattr xs[BR_MAX_XATTRS];
  struct tar_hdr t = { .name = name, .mode = st->st_mode & 07777, .mtime = st->st_mtim.tv_sec, .xattrs = xs };
  char target[PATH_BUF];
  cleanup_close int fd = -1;

  if (S_ISSOCK (st->st_mode))
    return 0;
  if (meta_read_xattrs (dirfd, base, &m, names_buf, values_buf, err) < 0)
    return -1;
  t.uid = to_container (a->o->uidmap, st->st_uid);
  t.gid = to_container (a->o->gidmap, st->st_gid);
  for (size_t i = 0; i < m.nxattrs; i++)
    xs[i] = (struct tar_xattr) { m.xattr_names[i], m.xattr_values[i], m.xattr_lens[i] };
  t.n_xattrs = m.nxattrs;
  switch (st->st_mode & S_IFMT)
    {
    case S_IFREG:
      {
        const char *first = st->st_nlink > 1 ? seen_before (a, st, name) : NULL;
        struct stat fst;
        if (first)
          {
            t.type = '1', t.linkname = first, t.n_xattrs = 0; /* the inode's xattrs came with its first name */
            break;
          }
        /* O_NONBLOCK: a fifo swapped in since the stat must not block; fstat checks the type. */
        fd = openat (dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || fstat (fd, &fst) < 0)
          return bu_sys (err, errno, "open `%s`", name);
        if (!S_ISREG (fst.st_mode))
          return bu_sys (err, EAGAIN, "`%s` changed while archived", name);
        t.type = '0', t.size = (uint64_t) fst.st_size;
        break;
      }
    case S_IFDIR:
      t.type = '5';
      break;
    case S_IFLNK:
      {
        ssize_t n = readlinkat (dirfd, base, target, sizeof (target) - 1);
        if (n < 0)
          return bu_sys (err, errno, "readlink `%s`", name);
        target[n] = 0;
        t.type = '2', t.linkname = target;
        break;
      }
    case S_IFCHR:
    case S_IFBLK:
      t.type = S_ISCHR (st->st_mode) ? '3' : '4';
      t.devmajor = major (st->st_rdev), t.devminor = minor (st->st_rdev);
      break;
    default:
      t.type = '6';
    }
  if (tar_header (1, &t) < 0)
    return bu_sys (err, errno, "write the archive");
  a->entries++;
  if (t.type == '0')
    {
      if (tar_copy_data (1, fd, t.size) < 0)
        return bu_sys (err, errno, "archive `%s`", name);
      a->bytes += t.size;
    }
  if (t.type == '5')
    {
      cleanup_close int sub = openat (dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return bu_sys (err, errno, "open `%s`", name);
      if (!pseudo_fs (sub))
        return archive_dir (a, sub, name, nlen, err);
    }
  return 0;
}

static int
by_name (const void *x, const void *y)
{
  return strcmp (*(char *const *) x, *(char *const *) y);
}

static int
archive_dir (struct archiver *a, int dirfd, char *name, size_t nlen, bu_error_t *err)
{
  int dup_fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup_fd < 0 ? NULL : fdopendir (dup_fd);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0;
  int ret = 0;

  if (d == NULL)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      return bu_sys (err, errno, "read directory `%s`", nlen ? name : "/");
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (n == cap && (names = realloc (names, (cap = cap ? 2 * cap : 64) * sizeof (char *))) == NULL)
        break;
      if ((names[n++] = strdup (de->d_name)) == NULL)
        break;
    }
  closedir (d);
  if (errno != 0)
    ret = bu_sys (err, errno ? errno : ENOMEM, "read directory `%s`", nlen ? name : "/");
  if (names)
    qsort (names, n, sizeof (char *), by_name);
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      struct stat st;
      size_t len = strlen (names[i]);
      if (nlen + 1 + len + 1 > PATH_BUF)
        ret = bu_sys (err, ENAMETOOLONG, "path below `%s`", name);
      else
        {
          snprintf (name + nlen, PATH_BUF - nlen, "%s%s", nlen ? "/" : "", names[i]);
          if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
            ret = errno == ENOENT ? 0 : bu_sys (err, errno, "stat `%s`", name); /* removed meanwhile */
          else
            ret = archive_node (a, dirfd, names[i], name, strlen (name), &st, err);
          name[nlen] = 0;
        }
    }
  for (size_t i = 0; i < n; i++)
    free (names[i]);
  free (names);
  return ret;
}

int
archive_path (int rootfd, const char *path, const struct archive_opts *o, bu_error_t *err)
{
  char clean[PATH_BUF], name[PATH_BUF], fields[128];
  size_t n = strlen (path);
  int follow = n == 0 || path[n - 1] == '/' || (n >= 2 && strcmp (path + n - 2, "/.") == 0);
  struct archiver a = { .o = o };
  struct stat st;
  int ret;
  cleanup_close int fd = -1, parent = -1;

  if (n >= sizeof (clean))
    return bu_invalid (err, ENAMETOOLONG, "path");
  clean_path (path, clean);
  fd = openat2_in_root (rootfd, clean, O_PATH | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      int e = errno;
      bu_sys (err, e, "Could not find the file /%s in container", clean);
      if (e == ENOENT || e == ENOTDIR)
        err->invalid = BR_NOTFOUND;
      return -1;
    }
  if (o->contents_only)
    {
      /* export: the tree's children, named from it ("bin", "etc/passwd"), no entry for it. */
      cleanup_close int dfd = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      name[0] = 0;
      ret = dfd < 0 ? bu_sys (err, errno, "`/%s` is not a directory", clean) : archive_dir (&a, dfd, name, 0, err);
    }
  else
    {
      /* The entry itself, as (its parent, its base): archive_node never reopens a path. */
      char parent_path[PATH_BUF];
      const char *base;
      snprintf (name, sizeof (name), "%s", o->name);
      if (clean[0] == 0 || follow)
        {
          parent = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          base = ".";
        }
      else
        {
          split_path (clean, parent_path, &base);
          parent = openat2_in_root (rootfd, parent_path, O_RDONLY | O_DIRECTORY);
          if (parent >= 0 && fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return bu_sys (err, errno, "stat `/%s`", clean);
        }
      if (parent < 0)
        return bu_sys (err, errno, "open `/%s`", clean);
      ret = archive_node (&a, parent, base, name, strlen (name), &st, err);
    }
  if (ret == 0 && tar_end (1) < 0)
    ret = bu_sys (err, errno, "write the archive");
  for (size_t i = 0; i < a.nlinks; i++)
    free (a.links[i].name);
  free (a.links);
  if (ret < 0)
    return -1;
  snprintf (fields, sizeof (fields), "\"entries\":%llu,\"bytes\":%llu", (unsigned long long) a.entries, (unsigned long long) a.bytes);
  br_done (fields);
  return 0;
}
