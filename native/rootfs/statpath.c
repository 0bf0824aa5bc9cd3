/* `stat`: what Docker's HEAD /containers/{id}/archive answers (X-Docker-Container-Path-Stat):
 * name, size, mode, mtime and, for a symlink, where it leads (resolved in-root). The parent is
 * followed in-root; the last component is not, unless the path ends in "/" or "/." (then it
 * must be a directory), as Docker's ResolvePath does. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../unpack/resolve.h"

#define PATH_BUF 8192

int
stat_path (int rootfd, const char *path, bu_error_t *err)
{
  char clean[PATH_BUF], canon[PATH_BUF], fields[4 * PATH_BUF];
  const char *name, *slash;
  size_t n = strlen (path), o = 0;
  int follow = n == 0 || path[n - 1] == '/' || (n >= 2 && strcmp (path + n - 2, "/.") == 0);
  struct stat st;
  cleanup_close int fd = -1;

  if (n >= sizeof (clean))
    return bu_invalid (err, ENAMETOOLONG, "path");
  clean_path (path, clean);
  fd = openat2_in_root (rootfd, clean, O_PATH | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0)
    {
      int e = errno;
      bu_sys (err, e, "Could not find the file /%s in container", clean);
      if (e == ENOENT || e == ENOTDIR)
        err->invalid = BR_NOTFOUND;
      return -1;
    }
  if (fstat (fd, &st) < 0)
    return bu_sys (err, errno, "stat `/%s`", clean);
  if (follow && !S_ISDIR (st.st_mode))
    return bu_sys (err, ENOTDIR, "`/%s`", clean);
  slash = strrchr (clean, '/');
  name = n >= 2 && strcmp (path + n - 2, "/.") == 0 ? "." : clean[0] == 0 ? "/" : slash ? slash + 1 : clean;
  o += (size_t) snprintf (fields, sizeof (fields), "\"name\":");
  br_json_string (fields, sizeof (fields), &o, name);
  o += (size_t) snprintf (fields + o, sizeof (fields) - o, ",\"size\":%lld,\"mode\":%u,\"uid\":%u,\"gid\":%u,\"mtime\":%lld,\"mtime_nsec\":%ld",
                          (long long) st.st_size, (unsigned) st.st_mode, (unsigned) st.st_uid, (unsigned) st.st_gid,
                          (long long) st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_BUF + 1];
      if (root_path (rootfd, clean, canon, sizeof (canon), err) < 0)
        return -1;
      snprintf (target, sizeof (target), "/%s", canon);
      o += (size_t) snprintf (fields + o, sizeof (fields) - o, ",\"linkTarget\":");
      br_json_string (fields, sizeof (fields), &o, target);
    }
  fields[o] = 0;
  br_done (fields);
  return 0;
}
