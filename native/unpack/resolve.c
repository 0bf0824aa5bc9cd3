#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

uint64_t bu_implicit_dirs;

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

int
root_path (int rootfd, const char *path, char *out, size_t outlen, bu_error_t *err)
{
  char rest[2 * 4096 + 2], target[4096 + 1];
  size_t o = 0;
  int hops = 0;

  if (strlen (path) >= sizeof (rest) / 2)
    return bu_invalid (err, ENAMETOOLONG, "path");
  strcpy (rest, path);
  out[0] = 0;
  while (rest[0])
    {
      char *slash, comp[4096 + 1];
      size_t cl;
      int fd;
      struct stat st;

      slash = strchr (rest, '/');
      cl = slash ? (size_t) (slash - rest) : strlen (rest);
      if (cl > 4096)
        return bu_invalid (err, ENAMETOOLONG, "path component");
      memcpy (comp, rest, cl);
      comp[cl] = 0;
      memmove (rest, slash ? slash + 1 : rest + cl, strlen (slash ? slash + 1 : rest + cl) + 1);
      if (cl == 0 || strcmp (comp, ".") == 0)
        continue;
      if (strcmp (comp, "..") == 0)
        {
          while (o > 0 && out[o - 1] != '/')
            o--;
          if (o > 0)
            o--;
          out[o] = 0;
          continue;
        }
      if (o + 1 + cl + 1 > outlen)
        return bu_invalid (err, ENAMETOOLONG, "path");
      if (o)
        out[o++] = '/';
      memcpy (out + o, comp, cl + 1);
      o += cl;
      fd = openat2_in_root (rootfd, out, O_PATH | O_NOFOLLOW);
      if (fd < 0)
        continue; /* missing: taken lexically */
      if (fstat (fd, &st) == 0 && S_ISLNK (st.st_mode))
        {
          ssize_t n = readlinkat (fd, "", target, sizeof (target) - 1);
          close (fd);
          if (n < 0)
            return bu_sys (err, errno, "readlink `%s`", out);
          if (++hops > 255)
            return bu_invalid (err, ELOOP, "resolve `%.200s`", path);
          target[n] = 0;
          /* drop the link itself, then continue with target + rest */
          while (o > 0 && out[o - 1] != '/')
            o--;
          if (o > 0)
            o--;
          out[o] = 0;
          if (target[0] == '/')
            o = 0, out[0] = 0;
          if ((size_t) n + 1 + strlen (rest) + 1 > sizeof (rest))
            return bu_invalid (err, ENAMETOOLONG, "resolve `%.200s`", path);
          memmove (rest + n + 1, rest, strlen (rest) + 1);
          memcpy (rest, target, (size_t) n);
          rest[n] = '/';
          continue;
        }
      close (fd);
    }
  return 0;
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
  /* Dangling symlinks and missing "x/.." components resolve as containerd's RootPath does;
   * the directories are then created at the canonical place. */
  {
    static char canon[4096 + 1];
    if (root_path (rootfd, path, canon, sizeof (canon), err) < 0)
      return -1;
    path = canon;
    n = strlen (path);
  }

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
      else if (bu_implicit_dirs++, copy_parent_attrs (parents, prefix, pfd, base, err) < 0)
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
