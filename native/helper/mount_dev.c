/* A minimal /dev: device nodes (mknod, or a bind from the host where mknod is not
 * allowed), the standard symlinks, and the console pty from the container's devpts. */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

static int
make_device (const struct plan_device *d, int rootfd, berth_error_t *err)
{
  char parent[4096], fdp[64];
  const char *base;
  mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
  snprintf (parent, sizeof (parent), "%s", d->path);
  *strrchr (parent, '/') = '\0';
  base = strrchr (d->path, '/') + 1;
  cleanup_close int pfd = open_in_root (rootfd, parent[0] ? parent : "/", IN_ROOT_DIR, 0, err);
  if (pfd < 0)
    return -1;
  /* O_PATH parents are fine for the *at calls below. */
  (void) unlinkat (pfd, base, 0);
  if (mknodat (pfd, base, type | (d->mode & 07777), makedev (d->major, d->minor)) == 0)
    {
      if (fchownat (pfd, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return berth_error (err, errno, "chown device `%s`", d->path);
      return 0;
    }
  if (errno != EPERM)
    return berth_error (err, errno, "mknod `%s`", d->path);
  /* In a user namespace: bind the host's node instead. */
  cleanup_close int fd = open_in_root (rootfd, d->path, IN_ROOT_FILE, 0, err);
  if (fd < 0)
    return -1;
  snprintf (fdp, sizeof (fdp), "/proc/self/fd/%d", fd);
  if (mount (d->path, fdp, NULL, MS_BIND, NULL) < 0)
    return berth_error (err, errno, "bind device `%s`", d->path);
  return 0;
}

int
mount_devices (const struct plan *p, int rootfd, berth_error_t *err)
{
  static const struct { const char *target, *name; } links[] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "/proc/kcore", "core" }, { "pts/ptmx", "ptmx" },
  };
  mode_t old = umask (0);
  int ret = 0;
  for (size_t i = 0; i < p->n_devices && ret == 0; i++)
    ret = make_device (&p->devices[i], rootfd, err);
  umask (old);
  if (ret < 0)
    return -1;
  if (p->mode != PLAN_MODE_CREATE)
    return 0;
  cleanup_close int dev = open_in_root (rootfd, "/dev", IN_ROOT_DIR, 0, err);
  if (dev < 0)
    return -1;
  for (size_t i = 0; i < sizeof (links) / sizeof (links[0]); i++)
    {
      struct stat st;
      /* /dev/ptmx must point at the private devpts instance, never the host's node. */
      if (fstatat (dev, links[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK (st.st_mode)
          && strcmp (links[i].name, "ptmx") == 0)
        (void) unlinkat (dev, links[i].name, 0);
      if (symlinkat (links[i].target, dev, links[i].name) < 0 && errno != EEXIST)
        return berth_error (err, errno, "symlink /dev/%s", links[i].name);
    }
  return 0;
}

int
mount_console (const struct plan *p, int rootfd, int *slave, berth_error_t *err)
{
  char name[64], fdp[64];
  int unlock = 0, n;
  struct winsize ws = { 0 };
  cleanup_close int master = open_in_root (rootfd, "/dev/pts/ptmx", IN_ROOT_OPEN, O_RDWR | O_NOCTTY, err);
  if (master < 0)
    return berth_error_wrap (err, "console");
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0 || ioctl (master, TIOCGPTN, &n) < 0)
    return berth_error (err, errno, "console: unlock pty");
  snprintf (name, sizeof (name), "/dev/pts/%d", n);
  *slave = open_in_root (rootfd, name, IN_ROOT_OPEN, O_RDWR | O_NOCTTY, err);
  if (*slave < 0)
    return berth_error_wrap (err, "console");
  ws.ws_col = (unsigned short) (p->tty_width ? p->tty_width : 80);
  ws.ws_row = (unsigned short) (p->tty_height ? p->tty_height : 24);
  (void) ioctl (master, TIOCSWINSZ, &ws);
  if (p->mode == PLAN_MODE_CREATE)
    {
      cleanup_close int con = open_in_root (rootfd, "/dev/console", IN_ROOT_FILE, 0, err);
      if (con < 0)
        return -1;
      snprintf (fdp, sizeof (fdp), "/proc/self/fd/%d", con);
      char src[64];
      snprintf (src, sizeof (src), "/proc/self/fd/%d", *slave);
      if (mount (src, fdp, NULL, MS_BIND, NULL) < 0)
        return berth_error (err, errno, "bind console");
    }
  n = master;
  master = -1;
  return n;
}
