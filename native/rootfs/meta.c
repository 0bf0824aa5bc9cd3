/* Inode metadata: read from a source inode's xattrs, applied to a new inode (owner, xattrs, mode
 * after chown since chown clears setuid bits, then times), by fd or by (dir fd, name) without
 * following the name. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

int
meta_skip_xattr (const char *name)
{
  return strncmp (name, "trusted.overlay.", 16) == 0;
}

/* The magic link names our own open directory; the final component is never followed (l*xattr). */
static void
proc_path (char *out, size_t cap, int dirfd, const char *name)
{
  snprintf (out, cap, "/proc/self/fd/%d/%s", dirfd, name);
}

int
meta_read_xattrs (int dirfd, const char *name, struct meta *m, char *names, char *values, bu_error_t *err)
{
  char proc[64 + 4096];
  ssize_t n;
  size_t used = 0;

  m->nxattrs = 0;
  proc_path (proc, sizeof (proc), dirfd, name);
  n = llistxattr (proc, names, BR_XATTR_NAMES);
  if (n < 0)
    {
      if (errno == ENOTSUP || errno == EOPNOTSUPP)
        return 0;
      return bu_sys (err, errno, "list xattrs of `%s`", name);
    }
  for (char *p = names; p < names + n; p += strlen (p) + 1)
    {
      ssize_t v;
      if (meta_skip_xattr (p))
        continue;
      if (m->nxattrs == BR_MAX_XATTRS)
        return bu_sys (err, E2BIG, "xattrs of `%s`", name);
      v = lgetxattr (proc, p, values + used, BR_XATTR_VALUES - used);
      if (v < 0)
        {
          if (errno == ENODATA)
            continue; /* removed meanwhile */
          return bu_sys (err, errno, "read xattr %s of `%s`", p, name);
        }
      m->xattr_names[m->nxattrs] = p;
      m->xattr_values[m->nxattrs] = values + used;
      m->xattr_lens[m->nxattrs] = (size_t) v;
      m->nxattrs++;
      used += (size_t) v;
    }
  return 0;
}

/* Filesystems without xattrs, or a name only the kernel may set: warned about, not fatal (as
 * unpack does for layers). */
static int
xattr_failed (int e, const char *name, const char *what, bu_error_t *err)
{
  if (e == ENOTSUP || e == EOPNOTSUPP || e == EPERM)
    {
      br_warning ("xattr %s on `%s` not supported here, skipped", name, what);
      return 0;
    }
  return bu_sys (err, e, "set xattr %s on `%s`", name, what);
}

int
meta_apply_fd (int fd, const struct meta *m, int times, const char *what, bu_error_t *err)
{
  if (fchown (fd, m->uid, m->gid) < 0)
    return bu_sys (err, errno, "chown `%s`", what);
  for (size_t i = 0; i < m->nxattrs; i++)
    if (fsetxattr (fd, m->xattr_names[i], m->xattr_values[i], m->xattr_lens[i], 0) < 0
        && xattr_failed (errno, m->xattr_names[i], what, err) < 0)
      return -1;
  if (fchmod (fd, m->mode & 07777) < 0)
    return bu_sys (err, errno, "chmod `%s`", what);
  if (times)
    {
      struct timespec ts[2] = { m->atime, m->mtime };
      if (futimens (fd, ts) < 0)
        return bu_sys (err, errno, "set times of `%s`", what);
    }
  return 0;
}

int
meta_apply_at (int pfd, const char *base, const struct meta *m, const char *what, bu_error_t *err)
{
  char proc[64 + 4096];
  struct timespec ts[2] = { m->atime, m->mtime };

  if (fchownat (pfd, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return bu_sys (err, errno, "chown `%s`", what);
  proc_path (proc, sizeof (proc), pfd, base);
  for (size_t i = 0; i < m->nxattrs; i++)
    if (lsetxattr (proc, m->xattr_names[i], m->xattr_values[i], m->xattr_lens[i], 0) < 0
        && xattr_failed (errno, m->xattr_names[i], what, err) < 0)
      return -1;
  if (!S_ISLNK (m->mode) && fchmodat (pfd, base, m->mode & 07777, AT_SYMLINK_NOFOLLOW) < 0)
    return bu_sys (err, errno, "chmod `%s`", what);
  if (utimensat (pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return bu_sys (err, errno, "set times of `%s`", what);
  return 0;
}
