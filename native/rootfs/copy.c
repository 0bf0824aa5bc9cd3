/* Copy-up: a new, empty volume mounted where the image has content gets that content first
 * (Docker's copyExistingContents). The source tree is walked from directory fds with O_NOFOLLOW
 * and fstatat(AT_SYMLINK_NOFOLLOW): a symlink is copied as a symlink, never followed, so an
 * image's links to host paths stay links. Everything is created with *at() calls below the
 * destination's fds, O_EXCL and O_NOFOLLOW. */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../unpack/resolve.h"

#define PATH_BUF 8192

/* Inodes with more than one link already copied: (dev, ino) -> their path below the destination. */
struct link_entry
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct copier
{
  int dstroot;
  struct link_entry *links; /* open addressing, size a power of two */
  size_t cap, n;
  struct copy_stats *st;
};

static char names_buf[BR_XATTR_NAMES], values_buf[BR_XATTR_VALUES];

static size_t
link_slot (const struct copier *c, dev_t dev, ino_t ino)
{
  uint64_t h = ((uint64_t) dev * 0x9e3779b97f4a7c15ull) ^ ((uint64_t) ino * 0xc2b2ae3d27d4eb4full);
  size_t i = (size_t) (h >> 17) & (c->cap - 1);
  while (c->links[i].path != NULL && !(c->links[i].dev == dev && c->links[i].ino == ino))
    i = (i + 1) & (c->cap - 1);
  return i;
}

static int
link_remember (struct copier *c, dev_t dev, ino_t ino, const char *path, bu_error_t *err)
{
  if (2 * (c->n + 1) > c->cap)
    {
      struct copier grown = *c;
      grown.cap = c->cap ? c->cap * 2 : 256;
      grown.links = calloc (grown.cap, sizeof (*grown.links));
      if (grown.links == NULL)
        return bu_sys (err, ENOMEM, "hardlink table");
      for (size_t i = 0; i < c->cap; i++)
        if (c->links[i].path)
          grown.links[link_slot (&grown, c->links[i].dev, c->links[i].ino)] = c->links[i];
      free (c->links);
      c->links = grown.links;
      c->cap = grown.cap;
    }
  size_t i = link_slot (c, dev, ino);
  c->links[i] = (struct link_entry) { dev, ino, strdup (path) };
  if (c->links[i].path == NULL)
    return bu_sys (err, ENOMEM, "hardlink table");
  c->n++;
  return 0;
}

static const char *
link_find (const struct copier *c, dev_t dev, ino_t ino)
{
  return c->cap ? c->links[link_slot (c, dev, ino)].path : NULL;
}

static void
meta_from_stat (struct meta *m, const struct stat *st)
{
  m->mode = st->st_mode;
  m->uid = st->st_uid;
  m->gid = st->st_gid;
  m->atime = st->st_atim;
  m->mtime = st->st_mtim;
}

static int
copy_data (int in, int out, uint64_t *bytes, const char *rel, bu_error_t *err)
{
  static char buf[1 << 20];
  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1 << 30, 0);
      if (n > 0)
        {
          *bytes += (uint64_t) n;
          continue;
        }
      if (n == 0)
        return 0;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
        return bu_sys (err, errno, "copy `%s`", rel);
      break; /* not between these filesystems: plain reads and writes */
    }
  for (;;)
    {
      ssize_t n = read (in, buf, sizeof (buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return bu_sys (err, errno, "read `%s`", rel);
      if (n == 0)
        return 0;
      if (write_all (out, buf, (size_t) n) < 0)
        return bu_sys (err, errno, "write `%s`", rel);
      *bytes += (uint64_t) n;
    }
}

/* A hardlink to an inode copied before: its first copy's parent is resolved in-root from the
 * destination (a concurrent user of the volume cannot redirect it outside). */
static int
copy_hardlink (struct copier *c, const char *first, int ddir, const char *name, const char *rel, bu_error_t *err)
{
  char parent[PATH_BUF];
  const char *base;
  cleanup_close int pfd = -1;

  split_path (first, parent, &base);
  pfd = openat2_in_root (c->dstroot, parent, O_PATH | O_DIRECTORY);
  if (pfd < 0 || linkat (pfd, base, ddir, name, 0) < 0)
    return bu_sys (err, errno, "hardlink `%s` to `%s`", rel, first);
  return 0;
}

static int copy_dir (struct copier *c, int sdir, int ddir, char *rel, size_t rlen, bu_error_t *err);

static int
copy_file (struct copier *c, int sdir, int ddir, const char *name, const char *rel, const struct stat *lst, bu_error_t *err)
{
  struct meta m = { 0 };
  struct stat st;
  cleanup_close int in = -1, out = -1;

  if (lst->st_nlink > 1)
    {
      const char *first = link_find (c, lst->st_dev, lst->st_ino);
      if (first)
        return copy_hardlink (c, first, ddir, name, rel, err);
    }
  /* O_NONBLOCK: had it become a fifo since the fstatat, the open must not hang; fstat checks. */
  in = openat (sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (in < 0)
    return bu_sys (err, errno, "open `%s`", rel);
  if (fstat (in, &st) < 0)
    return bu_sys (err, errno, "stat `%s`", rel);
  if (!S_ISREG (st.st_mode))
    return bu_sys (err, EAGAIN, "`%s` changed while copied", rel);
  out = openat (ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return bu_sys (err, errno, "create `%s`", rel);
  if (copy_data (in, out, &c->st->bytes, rel, err) < 0)
    return -1;
  meta_from_stat (&m, &st);
  if (meta_read_xattrs (sdir, name, &m, names_buf, values_buf, err) < 0 || meta_apply_fd (out, &m, 1, rel, err) < 0)
    return -1;
  if (st.st_nlink > 1)
    return link_remember (c, st.st_dev, st.st_ino, rel, err);
  return 0;
}

static int
copy_node (struct copier *c, int sdir, int ddir, const char *name, char *rel, size_t rlen, const struct stat *st, bu_error_t *err)
{
  struct meta m = { 0 };

  c->st->entries++;
  meta_from_stat (&m, st);
  switch (st->st_mode & S_IFMT)
    {
    case S_IFREG:
      return copy_file (c, sdir, ddir, name, rel, st, err);
    case S_IFDIR:
      {
        cleanup_close int s = -1, d = -1;
        if (mkdirat (ddir, name, 0700) < 0)
          return bu_sys (err, errno, "mkdir `%s`", rel);
        s = openat (sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0)
          return bu_sys (err, errno, "open directory `%s`", rel);
        d = openat (ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
          return bu_sys (err, errno, "open directory `%s`", rel);
        if (copy_dir (c, s, d, rel, rlen, err) < 0)
          return -1;
        /* Times last: the children changed the directory's mtime. */
        if (meta_read_xattrs (sdir, name, &m, names_buf, values_buf, err) < 0)
          return -1;
        return meta_apply_fd (d, &m, 1, rel, err);
      }
    case S_IFLNK:
      {
        char target[PATH_BUF];
        ssize_t n = readlinkat (sdir, name, target, sizeof (target) - 1);
        if (n < 0)
          return bu_sys (err, errno, "readlink `%s`", rel);
        target[n] = 0;
        if (symlinkat (target, ddir, name) < 0)
          return bu_sys (err, errno, "symlink `%s`", rel);
        break;
      }
    default:
      /* Devices, fifos and sockets are made, never opened. */
      if (mknodat (ddir, name, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0)
        return bu_sys (err, errno, "mknod `%s`", rel);
      break;
    }
  if (meta_read_xattrs (sdir, name, &m, names_buf, values_buf, err) < 0)
    return -1;
  return meta_apply_at (ddir, name, &m, rel, err);
}

static int
copy_dir (struct copier *c, int sdir, int ddir, char *rel, size_t rlen, bu_error_t *err)
{
  int dup_fd = openat (sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;
  int ret = 0;

  if (dup_fd < 0 || (d = fdopendir (dup_fd)) == NULL)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      return bu_sys (err, errno, "read directory `%s`", rlen ? rel : "/");
    }
  while (ret == 0 && (errno = 0, de = readdir (d)) != NULL)
    {
      struct stat st;
      size_t nl = strlen (de->d_name);
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (rlen + 1 + nl + 1 > PATH_BUF)
        {
          ret = bu_sys (err, ENAMETOOLONG, "path below `%s`", rel);
          break;
        }
      snprintf (rel + rlen, PATH_BUF - rlen, "%s%s", rlen ? "/" : "", de->d_name);
      if (fstatat (sdir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        ret = errno == ENOENT ? 0 : bu_sys (err, errno, "stat `%s`", rel); /* removed meanwhile */
      else
        ret = copy_node (c, sdir, ddir, de->d_name, rel, strlen (rel), &st, err);
      rel[rlen] = 0;
    }
  if (ret == 0 && errno != 0)
    ret = bu_sys (err, errno, "read directory `%s`", rlen ? rel : "/");
  closedir (d);
  return ret;
}

int
copy_tree (int srcdir, int dstdir, struct copy_stats *st, bu_error_t *err)
{
  struct copier c = { .dstroot = dstdir, .st = st };
  struct stat sst;
  char rel[PATH_BUF] = "";
  int ret;

  if (fstat (srcdir, &sst) < 0)
    return bu_sys (err, errno, "stat source");
  ret = copy_dir (&c, srcdir, dstdir, rel, 0, err);
  /* The volume's root takes the owner and mode of the directory it is mounted over. */
  if (ret == 0 && (fchown (dstdir, sst.st_uid, sst.st_gid) < 0 || fchmod (dstdir, sst.st_mode & 07777) < 0))
    ret = bu_sys (err, errno, "set owner and mode of the volume");
  for (size_t i = 0; i < c.cap; i++)
    free (c.links[i].path);
  free (c.links);
  return ret;
}
