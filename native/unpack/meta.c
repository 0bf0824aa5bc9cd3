/* An entry's owner, xattrs, mode and times, set on an open inode (meta_fd) or, for what cannot
 * be opened safely (symlinks, devices, fifos), by (parent fd, name) without following it. */
#include "apply.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

void
entry_times (const struct tar_entry *e, struct timespec ts[2])
{
  ts[1] = e->mtime;
  ts[0] = e->mtime;
  if (e->has_atime && (e->atime.tv_sec > e->mtime.tv_sec
                       || (e->atime.tv_sec == e->mtime.tv_sec && e->atime.tv_nsec > e->mtime.tv_nsec)))
    ts[0] = e->atime;
}

/* Layer xattrs that would steer overlayfs itself are never taken from the archive. A default
 * ACL on a directory changes the mode of what is created in it later: from then on every mode
 * is set explicitly (see META_CHMOD). */
static int
skip_xattr (struct applier *a, const char *name)
{
  if (strcmp (name, "system.posix_acl_default") == 0)
    a->acl_default_seen = 1;
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
 * inode: no path is looked up again. `what` says which of META_CHOWN, META_CHMOD, META_TIMES
 * are needed (a fresh inode may have its owner and mode already: see create_file). */
int
meta_fd (struct applier *a, int fd, const struct tar_entry *e, const char *path, unsigned what, bu_error_t *err)
{
  size_t i;

  if ((what & META_CHOWN) && a->root_user && fchown (fd, (uid_t) e->uid, (gid_t) e->gid) < 0)
    return bu_sys (err, errno, "chown `%s`", path);
  for (i = 0; i < e->nxattrs; i++)
    {
      if (skip_xattr (a, e->xattrs[i].name))
        continue;
      if (fsetxattr (fd, e->xattrs[i].name, e->xattrs[i].value, e->xattrs[i].len, 0) < 0
          && xattr_failed (errno, e->xattrs[i].name, path, err) < 0)
        return -1;
    }
  if ((what & META_CHMOD) && fchmod (fd, e->mode) < 0)
    return bu_sys (err, errno, "chmod `%s`", path);
  if (what & META_TIMES)
    {
      struct timespec ts[2];
      entry_times (e, ts);
      if (futimens (fd, ts) < 0)
        return bu_sys (err, errno, "set times of `%s`", path);
    }
  return 0;
}

/* The same for symlinks, devices and fifos, which cannot be opened safely: (pfd, base) with
 * the final component never followed; `chown` 0 when the inode has the entry's owner already. */
int
meta_at (struct applier *a, int pfd, const char *base, const struct tar_entry *e, const char *path, int chown,
         bu_error_t *err)
{
  struct timespec ts[2];
  size_t i;

  if (chown && a->root_user && fchownat (pfd, base, (uid_t) e->uid, (gid_t) e->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return bu_sys (err, errno, "chown `%s`", path);
  for (i = 0; i < e->nxattrs; i++)
    {
      char proc[64 + 4096];
      if (skip_xattr (a, e->xattrs[i].name))
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

