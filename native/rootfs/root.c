/* Reaching the container's filesystem: a host directory, a running container's own view
 * (/proc/PID/root: its root with every mount it has, volumes and tmpfs included), or a
 * stopped container's snapshot mounted in a private mount namespace with its volumes bound
 * in, as Docker mounts them for cp. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../unpack/mount.h"
#include "../unpack/resolve.h"

static char mounted[4096];

void
root_close (void)
{
  if (mounted[0])
    unmount_private (mounted);
  mounted[0] = 0;
}

/* The running container's root, through a pidfd: a pid that exited (and may be reused) after we
 * opened /proc/PID/root would make the opened root someone else's, so its liveness is checked
 * after the open. */
static int
open_pid_root (int pid, bu_error_t *err)
{
  char path[64];
  struct stat st, host;
  cleanup_close int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  int fd;

  if (pidfd < 0)
    {
      int e = errno;
      bu_sys (err, e, "container process %d", pid);
      if (e == ESRCH)
        err->invalid = BR_NOTFOUND; /* it exited */
      return -1;
    }
  snprintf (path, sizeof (path), "/proc/%d/root", pid);
  fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return bu_sys (err, errno, "open `%s`", path);
  if (syscall (SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
    {
      int e = errno;
      close (fd);
      bu_sys (err, e, "container process %d", pid);
      if (e == ESRCH)
        err->invalid = BR_NOTFOUND;
      return -1;
    }
  /* A container always has its own root: its being ours would be a bug elsewhere, and every
   * path here would then be a host path. */
  if (fstat (fd, &st) < 0 || stat ("/", &host) < 0 || (st.st_dev == host.st_dev && st.st_ino == host.st_ino))
    {
      close (fd);
      errno = EPERM;
      return bu_sys (err, EPERM, "container process %d has the host's root", pid);
    }
  return fd;
}

/* A missing mountpoint is made in-root (a directory, or an empty file for a file's bind), as
 * Docker does before mounting volumes for cp. On a read-only view that fails: the bind is then
 * skipped (the container never ran with it, so nothing is there to see). */
static int
make_mountpoint (int rootfd, const char *clean, const char *source, bu_error_t *err)
{
  char parent[4096 + 1];
  const char *base;
  struct stat st;
  cleanup_close int pfd = -1, dir = -1;
  int fd;

  if (stat (source, &st) < 0)
    return bu_sys (err, errno, "bind source `%s`", source);
  if (S_ISDIR (st.st_mode))
    {
      fd = open_dir_in_root (rootfd, clean, 1, NULL, err);
      if (fd < 0)
        return -1;
      close (fd);
      return 0;
    }
  split_path (clean, parent, &base);
  pfd = open_dir_in_root (rootfd, parent, 1, NULL, err);
  if (pfd < 0)
    return -1;
  dir = openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fd = dir < 0 ? -1 : openat (dir, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return bu_sys (err, errno, "create mountpoint `/%s`", clean);
  close (fd);
  return 0;
}

/* Binds a volume (or bind mount) source onto its destination inside the privately mounted root:
 * the destination is resolved in-root and attached by fd, so a symlinked mountpoint cannot send
 * the mount anywhere else. */
static int
bind_in_root (int rootfd, const struct bind_spec *b, bu_error_t *err)
{
  char clean[4096 + 1];
  struct mount_attr attr = { 0 };
  cleanup_close int dst = -1, tree = -1;

  if (strlen (b->destination) >= sizeof (clean))
    return bu_invalid (err, ENAMETOOLONG, "bind destination");
  clean_path (b->destination, clean);
  dst = openat2_in_root (rootfd, clean, O_PATH);
  if (dst < 0 && errno == ENOENT)
    {
      bu_error_t why = { 0 };
      if (make_mountpoint (rootfd, clean, b->source, &why) < 0)
        {
          br_warning ("mountpoint `/%s` is missing in the container (%s), `%s` not bound", clean, why.msg, b->source);
          return 0;
        }
      dst = openat2_in_root (rootfd, clean, O_PATH);
    }
  if (dst < 0)
    return bu_sys (err, errno, "open mountpoint `/%s`", clean);
  tree = open_tree (AT_FDCWD, b->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0)
    return bu_sys (err, errno, "clone mount `%s`", b->source);
  if (b->readonly)
    {
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof (attr)) < 0)
        return bu_sys (err, errno, "make `%s` read-only", b->source);
    }
  if (move_mount (tree, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return bu_sys (err, errno, "bind `%s` on `/%s`", b->source, clean);
  return 0;
}

int
root_open (const struct root_spec *s, bu_error_t *err)
{
  int fd, i;

  if (s->pid > 0)
    return open_pid_root (s->pid, err);
  if (s->dir)
    {
      fd = open (s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return bu_sys (err, errno, "open root `%s`", s->dir);
      return fd;
    }
  if (mount_private (s->mtype, s->msource, s->options, s->noptions, s->tmpdir, mounted, sizeof (mounted), err) < 0)
    {
      mounted[0] = 0;
      return -1;
    }
  fd = open (mounted, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return bu_sys (err, errno, "open `%s`", mounted);
  for (i = 0; i < s->nbinds; i++)
    if (bind_in_root (fd, &s->binds[i], err) < 0)
      {
        close (fd);
        return -1;
      }
  return fd;
}
