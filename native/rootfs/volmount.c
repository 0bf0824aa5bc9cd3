/* Mounted local volumes (`docker volume create -o type=tmpfs -o device=tmpfs -o o=size=64m`): the
 * volume's directory gets the mount in berthd's mount namespace while a container uses it, as
 * Docker's local driver does. The target is a directory berthd made under its root; it is opened
 * once without following and mounted on through its fd. Flags are parsed by Node (src/volumes). */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

static int
open_target (const char *target, char *proc, size_t cap, bu_error_t *err)
{
  int fd = open (target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return bu_sys (err, errno, "open volume directory `%s`", target);
  snprintf (proc, cap, "/proc/self/fd/%d", fd);
  return fd;
}

int
volume_mount (const char *type, const char *device, const char *target, unsigned long flags, const char *data, bu_error_t *err)
{
  char proc[64];
  cleanup_close int fd = open_target (target, proc, sizeof (proc), err);

  if (fd < 0)
    return -1;
  if (flags & MS_BIND)
    {
      /* A bind takes its flags only on a remount of the new mount, reached through the target again. */
      cleanup_close int mfd = -1;
      if (mount (device, proc, NULL, MS_BIND | (flags & MS_REC), NULL) < 0)
        return bu_sys (err, errno, "bind `%s` on `%s`", device, target);
      if ((flags & ~(MS_BIND | MS_REC)) == 0)
        return 0;
      mfd = open_target (target, proc, sizeof (proc), err);
      if (mfd < 0 || mount (NULL, proc, NULL, MS_REMOUNT | MS_BIND | (flags & ~MS_REC), NULL) < 0)
        {
          int e = errno;
          umount2 (target, MNT_DETACH | UMOUNT_NOFOLLOW);
          return bu_sys (err, e, "set flags of the bind on `%s`", target);
        }
      return 0;
    }
  if (mount (device, proc, type, flags, data[0] ? data : NULL) < 0)
    return bu_sys (err, errno, "mount %s `%s` on `%s`", type, device, target);
  return 0;
}

int
volume_umount (const char *target, bu_error_t *err)
{
  if (umount2 (target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
    return bu_sys (err, errno, "unmount `%s`", target);
  return 0;
}
