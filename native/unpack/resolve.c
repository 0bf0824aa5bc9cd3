#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void
clean_path (const char *in, char *out)
{
  size_t o = 0;
  const char *p = in;

  while (*p)
    {
      const char *s;
      size_t len;

      while (*p == '/')
        p++;
      s = p;
      while (*p && *p != '/')
        p++;
      len = (size_t) (p - s);
      if (len == 0 || (len == 1 && s[0] == '.'))
        continue;
      if (len == 2 && s[0] == '.' && s[1] == '.')
        {
          while (o > 0 && out[o - 1] != '/')
            o--;
          if (o > 0)
            o--; /* the separator */
          continue;
        }
      if (o > 0)
        out[o++] = '/';
      memcpy (out + o, s, len);
      o += len;
    }
  out[o] = 0;
}

void
split_path (const char *path, char *parent, const char **base)
{
  const char *slash = strrchr (path, '/');

  if (slash == NULL)
    {
      parent[0] = 0;
      *base = path;
      return;
    }
  memcpy (parent, path, (size_t) (slash - path));
  parent[slash - path] = 0;
  *base = slash + 1;
}

int
openat2_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how;

  memset (&how, 0, sizeof (how));
  how.flags = (unsigned long long) (flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;)
    {
      long fd = syscall (SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof (how));
      /* EAGAIN: a concurrent rename raced the ".." check; nobody else writes here, retry. */
      if (fd < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      return (int) fd;
    }
}

/* The lower dir's mode/owner/times on a freshly created upper dir, so the merged view shows the
 * lower's attributes (not 0755 root) for directories the layer did not list itself. */
static int
copy_parent_attrs (const struct parents *parents, const char *prefix, int pfd, const char *base, bu_error_t *err)
{
  size_t i;

  for (i = 0; parents != NULL && i < parents->n; i++)
    {
      struct stat st;
      struct timespec ts[2];
      int lfd = openat2_in_root (parents->fds[i], prefix, O_PATH);

      if (lfd < 0)
        continue;
      if (fstat (lfd, &st) < 0)
        {
          close (lfd);
          continue;
        }
      close (lfd);
      if (!S_ISDIR (st.st_mode))
        return 0; /* replaced in that lower: nothing to copy */
      if (geteuid () == 0 && fchownat (pfd, base, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return bu_sys (err, errno, "chown `%s`", prefix);
      if (fchmodat (pfd, base, st.st_mode & 07777, 0) < 0)
        return bu_sys (err, errno, "chmod `%s`", prefix);
      ts[0] = st.st_atim;
      ts[1] = st.st_mtim;
      if (utimensat (pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return bu_sys (err, errno, "set times of `%s`", prefix);
      return 0;
    }
  return 0;
}

int
open_dir_in_root (int rootfd, const char *path, int create, const struct parents *parents, bu_error_t *err)
{
  char prefix[4096 + 1];
  size_t i, n = strlen (path);
  int fd;

  fd = openat2_in_root (rootfd, path, O_PATH | O_DIRECTORY);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT || !create)
    return bu_sys (err, errno, "open directory `%s` in root", path);
  if (n >= sizeof (prefix))
    return bu_invalid (err, ENAMETOOLONG, "directory `%.200s`", path);

  /* Walk the prefixes, creating what is missing. Each step resolves from the root again, so a
   * symlinked component is followed in-root exactly as a single lookup would. */
  for (i = 0; i <= n; i++)
    {
      const char *base;
      int pfd;
      char parent[4096 + 1];

      if (i < n && path[i] != '/')
        continue;
      memcpy (prefix, path, i);
      prefix[i] = 0;
      fd = openat2_in_root (rootfd, prefix, O_PATH | O_DIRECTORY);
      if (fd >= 0)
        {
          if (i < n)
            close (fd);
          continue;
        }
      if (errno != ENOENT)
        return bu_sys (err, errno, "open directory `%s` in root", prefix);
      split_path (prefix, parent, &base);
      pfd = openat2_in_root (rootfd, parent, O_PATH | O_DIRECTORY);
      if (pfd < 0)
        return bu_sys (err, errno, "open directory `%s` in root", parent);
      if (mkdirat (pfd, base, 0755) < 0)
        {
          int e = errno;
          if (e != EEXIST)
            {
              close (pfd);
              return bu_sys (err, e, "mkdir `%s`", prefix);
            }
        }
      else if (copy_parent_attrs (parents, prefix, pfd, base, err) < 0)
        {
          close (pfd);
          return -1;
        }
      close (pfd);
      fd = openat2_in_root (rootfd, prefix, O_PATH | O_DIRECTORY);
      if (fd < 0)
        return bu_sys (err, errno, "open directory `%s` in root", prefix);
      if (i < n)
        close (fd);
    }
  return fd;
}
