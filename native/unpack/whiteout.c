/* OCI whiteouts. `.wh.<name>` deletes <name>; `.wh..wh..opq` makes its directory opaque.
 * Plain mode (the root holds the merged lower content): delete, or empty the directory of
 * what this layer did not write. Overlay mode (the root is an upper dir; the lower layers are
 * elsewhere): a 0:0 char device named <name>, or trusted.overlay.opaque=y on the directory,
 * as containerd's overlay converter writes them. */
#include "apply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "resolve.h"

int
remove_all_at (int dfd, const char *name, bu_error_t *err)
{
  struct stat st;
  DIR *d;
  struct dirent *de;
  int fd;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : bu_sys (err, errno, "stat `%s`", name);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dfd, name, 0) < 0 && errno != ENOENT)
        return bu_sys (err, errno, "remove `%s`", name);
      return 0;
    }
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return bu_sys (err, errno, "open directory `%s`", name);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return bu_sys (err, errno, "read directory `%s`", name);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (remove_all_at (dirfd (d), de->d_name, err) < 0)
        {
          closedir (d);
          return -1;
        }
    }
  closedir (d);
  if (unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return bu_sys (err, errno, "remove directory `%s`", name);
  return 0;
}

int
mark_written (struct applier *a, const char *path, bu_error_t *err)
{
  char buf[4096 + 1];
  size_t n = strlen (path);

  if (n >= sizeof (buf))
    return bu_invalid (err, ENAMETOOLONG, "path");
  memcpy (buf, path, n + 1);
  for (;;)
    {
      char *slash;
      if (pathset_has (&a->written, buf))
        return 0;
      if (pathset_add (&a->written, buf) < 0)
        return bu_sys (err, ENOMEM, "path set");
      slash = strrchr (buf, '/');
      if (slash == NULL)
        return 0;
      *slash = 0;
    }
}

/* Removes the children of dir (fd) that this layer did not write, keeping written ones and
 * descending into written directories (containerd walks the same way). */
static int
opaque_clean (struct applier *a, int fd, char *rel, size_t len, bu_error_t *err)
{
  DIR *d;
  struct dirent *de;
  int dfd = dup (fd);

  if (dfd < 0)
    return bu_sys (err, errno, "dup");
  d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return bu_sys (err, errno, "read directory `%s`", rel);
    }
  while ((errno = 0, de = readdir (d)) != NULL)
    {
      size_t nl = strlen (de->d_name), clen;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      clen = len ? len + 1 + nl : nl;
      if (clen > 4096)
        continue;
      if (len)
        rel[len] = '/';
      memcpy (rel + (len ? len + 1 : 0), de->d_name, nl + 1);
      if (!pathset_has (&a->written, rel))
        {
          if (remove_all_at (fd, de->d_name, err) < 0)
            goto fail;
        }
      else if (de->d_type == DT_DIR)
        {
          int cfd = openat (fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (cfd >= 0)
            {
              int rc = opaque_clean (a, cfd, rel, clen, err);
              close (cfd);
              if (rc < 0)
                goto fail;
            }
        }
      rel[len] = 0;
    }
  closedir (d);
  return 0;
fail:
  closedir (d);
  return -1;
}

int
apply_whiteout (struct applier *a, const char *parent, const char *base, const struct tar_entry *e, bu_error_t *err)
{
  const char *name = base + 4;

  applier_forget_parent (a); /* whiteouts remove things */
  if (strcmp (base, ".wh..wh..opq") == 0)
    {
      cleanup_close int fd = -1;
      {
        cleanup_close int pfd = open_dir_in_root (a->rootfd, parent, 1, &a->parents, err);
        if (pfd < 0)
          return bu_wrap (err, "opaque directory `%s`", parent);
      }
      fd = openat2_in_root (a->rootfd, parent, O_RDONLY | O_DIRECTORY);
      if (fd < 0)
        return bu_sys (err, errno, "opaque directory `%s`", parent);
      if (a->overlay)
        {
          if (fsetxattr (fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return bu_sys (err, errno, "mark `%s` opaque", parent);
          return mark_written (a, parent, err);
        }
      {
        char rel[4096 + 2];
        size_t len = strlen (parent);
        if (len > 4096)
          return bu_invalid (err, ENAMETOOLONG, "path");
        memcpy (rel, parent, len + 1);
        return opaque_clean (a, fd, rel, len, err);
      }
    }

  if (name[0] == 0 || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return bu_invalid (err, 0, "invalid whiteout `%s/%s`", parent, base);

  if (!a->overlay)
    {
      /* The parent is created like any entry's (containerd's mkparent runs before the whiteout
       * conversion); a dangling symlinked parent thus becomes an in-root directory. */
      cleanup_close int pfd = open_dir_in_root (a->rootfd, parent, 1, &a->parents, err);
      if (pfd < 0)
        return bu_wrap (err, "whiteout `%s/%s`", parent, base);
      return remove_all_at (pfd, name, err);
    }
  else
    {
      cleanup_close int pfd = open_dir_in_root (a->rootfd, parent, 1, &a->parents, err);
      if (pfd < 0)
        return bu_wrap (err, "whiteout `%s/%s`", parent, base);
      if (remove_all_at (pfd, name, err) < 0)
        return -1;
      if (mknodat (pfd, name, S_IFCHR, makedev (0, 0)) < 0)
        return bu_sys (err, errno, "whiteout `%s/%s`", parent, name);
      if (a->root_user && fchownat (pfd, name, (uid_t) e->uid, (gid_t) e->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return bu_sys (err, errno, "chown whiteout `%s/%s`", parent, name);
      return 0;
    }
}
