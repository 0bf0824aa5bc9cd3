#include "mount.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

struct flagopt
{
  const char *name;
  unsigned long set, clear;
};

static const struct flagopt FLAGS[] = {
  { "ro", MS_RDONLY, 0 },          { "rw", 0, MS_RDONLY },       { "bind", MS_BIND, 0 },
  { "rbind", MS_BIND | MS_REC, 0 }, { "nosuid", MS_NOSUID, 0 },  { "suid", 0, MS_NOSUID },
  { "nodev", MS_NODEV, 0 },        { "dev", 0, MS_NODEV },       { "noexec", MS_NOEXEC, 0 },
  { "exec", 0, MS_NOEXEC },        { "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
  { "noatime", MS_NOATIME, 0 },    { "relatime", MS_RELATIME, 0 }, { "strictatime", MS_STRICTATIME, 0 },
  { "nodiratime", MS_NODIRATIME, 0 }, { "defaults", 0, 0 },
};

int
mount_private (const char *type, const char *source, char *const *options, int noptions, const char *tmpdir,
               char *out, size_t outlen, bu_error_t *err)
{
  char data[65536];
  size_t dl = 0;
  unsigned long flags = 0;
  int i;

  data[0] = 0;
  for (i = 0; i < noptions; i++)
    {
      size_t k, n;
      int known = 0;
      if (strcmp (options[i], "remount") == 0)
        return bu_invalid (err, EINVAL, "mount option remount");
      for (k = 0; k < sizeof (FLAGS) / sizeof (FLAGS[0]); k++)
        if (strcmp (options[i], FLAGS[k].name) == 0)
          {
            flags = (flags | FLAGS[k].set) & ~FLAGS[k].clear;
            known = 1;
          }
      if (known)
        continue;
      n = strlen (options[i]);
      if (dl + n + 2 > sizeof (data))
        return bu_invalid (err, E2BIG, "mount options too long");
      if (dl)
        data[dl++] = ',';
      memcpy (data + dl, options[i], n + 1);
      dl += n;
    }
  if (unshare (CLONE_NEWNS) < 0)
    return bu_sys (err, errno, "unshare mount namespace");
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return bu_sys (err, errno, "make mounts private");
  if ((size_t) snprintf (out, outlen, "%s/unpack-XXXXXX", tmpdir) >= outlen)
    return bu_invalid (err, ENAMETOOLONG, "tmpdir");
  if (mkdtemp (out) == NULL)
    {
      bu_sys (err, errno, "mkdtemp under `%s`", tmpdir);
      err->invalid = 0;
      return -1;
    }
  if (mount (source, out, type, flags, dl ? data : NULL) < 0)
    {
      int e = errno;
      rmdir (out);
      bu_sys (err, e, "mount %s `%s`", type, source);
      err->invalid = e == EINVAL || e == ENOENT || e == ENODEV || e == ENOTDIR;
      return -1;
    }
  return 0;
}

void
unmount_private (const char *path)
{
  umount2 (path, MNT_DETACH);
  rmdir (path);
}
