/* cp into a container: a tar from stdin extracted below a directory of the container, with the
 * rules of Docker's copy API (archive.Untar with NoOverwriteDirNonDir): names are plain (a
 * `.wh.` file is just a file), an entry may not climb out of the destination (`..`, a relative
 * symlink or a hardlink pointing above it), a directory and a non-directory never replace each
 * other, existing directories merge. Every parent is resolved in-root (unpack/resolve.c) and the
 * last component is created with *at() calls that do not follow it. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../unpack/reader.h"
#include "../unpack/resolve.h"
#include "../unpack/tar.h"

#define PATH_BUF 8192

static struct reader R; /* 1 MiB buffer: static */

struct dir_times
{
  char *path;
  struct timespec ts[2];
};

struct extractor
{
  int rootfd;
  const char *dest; /* cleaned, root-relative */
  const struct extract_opts *o;
  struct dir_times *dirs;
  size_t ndirs, capdirs;
};

/* "C:H:N[,C:H:N]": container id C..C+N-1 is host id H..H+N-1. No map: ids are host ids. */
static int
map_id (const char *map, int64_t id, int64_t *out)
{
  if (map == NULL || map[0] == 0)
    {
      *out = id;
      return 0;
    }
  for (const char *p = map; p && *p; p = strchr (p, ','), p = p ? p + 1 : NULL)
    {
      long long c, h, n;
      if (sscanf (p, "%lld:%lld:%lld", &c, &h, &n) == 3 && id >= c && id < c + n)
        {
          *out = h + (id - c);
          return 0;
        }
    }
  return -1;
}

/* Whether a relative name climbs above its base (`..`, `a/../..`): Docker refuses such entries. */
static int
climbs_out (const char *in)
{
  int depth = 0;
  for (const char *p = in; *p;)
    {
      const char *s = p;
      while (*p && *p != '/')
        p++;
      if (p - s == 2 && s[0] == '.' && s[1] == '.')
        {
          if (depth-- == 0)
            return 1;
        }
      else if (p - s > 0 && !(p - s == 1 && s[0] == '.'))
        depth++;
      while (*p == '/')
        p++;
    }
  return 0;
}

/* Cleans a name relative to the destination; -1 if it climbs above it or does not fit. */
static int
clean_relative (const char *in, char *out, size_t cap)
{
  if (strlen (in) >= cap || climbs_out (in))
    return -1;
  clean_path (in, out);
  return 0;
}

/* a/b into out; -1 (ENAMETOOLONG) when it does not fit. */
static int
join (char *out, size_t cap, const char *a, const char *b, bu_error_t *err)
{
  size_t la = strlen (a), lb = strlen (b), sep = la && lb;
  if (la + sep + lb + 1 > cap)
    return bu_invalid (err, ENAMETOOLONG, "path `%.200s/%.200s`", a, b);
  memcpy (out, a, la);
  if (sep)
    out[la] = '/';
  memcpy (out + la + sep, b, lb + 1);
  return 0;
}

static int
entry_meta (struct extractor *x, const struct tar_entry *e, struct meta *m, bu_error_t *err)
{
  int64_t uid = e->uid, gid = e->gid;
  static const mode_t kinds[128] = { ['0'] = S_IFREG, ['1'] = S_IFREG, ['2'] = S_IFLNK, ['3'] = S_IFCHR,
                                     ['4'] = S_IFBLK, ['5'] = S_IFDIR, ['6'] = S_IFIFO };

  if (x->o->chown)
    uid = x->o->uid, gid = x->o->gid;
  else if (map_id (x->o->uidmap, e->uid, &uid) < 0 || map_id (x->o->gidmap, e->gid, &gid) < 0)
    return bu_invalid (err, 0, "`%s`: owner %lld:%lld has no id in the container's user namespace", e->path,
                       (long long) e->uid, (long long) e->gid);
  m->mode = kinds[(unsigned char) e->type & 127] | (e->mode & 07777);
  m->uid = (uid_t) uid;
  m->gid = (gid_t) gid;
  m->mtime = e->mtime;
  /* Docker's rule: the access time is never before the modification time. */
  m->atime = e->has_atime && (e->atime.tv_sec > e->mtime.tv_sec || (e->atime.tv_sec == e->mtime.tv_sec && e->atime.tv_nsec > e->mtime.tv_nsec)) ? e->atime : e->mtime;
  m->nxattrs = 0;
  for (size_t i = 0; i < e->nxattrs && m->nxattrs < BR_MAX_XATTRS; i++)
    if (!meta_skip_xattr (e->xattrs[i].name))
      {
        m->xattr_names[m->nxattrs] = e->xattrs[i].name;
        m->xattr_values[m->nxattrs] = e->xattrs[i].value;
        m->xattr_lens[m->nxattrs++] = e->xattrs[i].len;
      }
  return 0;
}

static int
defer_times (struct extractor *x, const char *path, const struct meta *m, bu_error_t *err)
{
  if (x->ndirs == x->capdirs)
    {
      size_t cap = x->capdirs ? 2 * x->capdirs : 64;
      struct dir_times *n = realloc (x->dirs, cap * sizeof (*n));
      if (n == NULL)
        return bu_sys (err, ENOMEM, "directory list");
      x->dirs = n, x->capdirs = cap;
    }
  x->dirs[x->ndirs] = (struct dir_times) { strdup (path), { m->atime, m->mtime } };
  if (x->dirs[x->ndirs].path == NULL)
    return bu_sys (err, ENOMEM, "directory list");
  x->ndirs++;
  return 0;
}

static int
make_hardlink (struct extractor *x, const struct tar_entry *e, int pfd, const char *base, bu_error_t *err)
{
  char rel[PATH_BUF], full[PATH_BUF], parent[PATH_BUF];
  const char *tbase;
  cleanup_close int tpfd = -1;

  if (clean_relative (e->linkpath, rel, sizeof (rel)) < 0 || rel[0] == 0)
    return bu_invalid (err, 0, "invalid hardlink `%s` -> `%s`: outside the destination", e->path, e->linkpath);
  if (join (full, sizeof (full), x->dest, rel, err) < 0)
    return -1;
  split_path (full, parent, &tbase);
  tpfd = openat2_in_root (x->rootfd, parent, O_PATH | O_DIRECTORY);
  /* The target itself is not followed: a hardlink to a symlink links the symlink. */
  if (tpfd < 0 || linkat (tpfd, tbase, pfd, base, 0) < 0)
    return bu_sys (err, errno, "hardlink `%s` to `%s`", e->path, e->linkpath);
  return 0;
}

static int
extract_entry (struct extractor *x, struct tar_entry *e, bu_error_t *err)
{
  char rel[PATH_BUF], full[PATH_BUF], parent[PATH_BUF];
  const char *base;
  struct stat st;
  struct meta m;
  cleanup_close int pfd = -1;
  int exists, isdir = e->type == '5';

  if (clean_relative (e->path, rel, sizeof (rel)) < 0)
    return bu_invalid (err, 0, "`%s` is outside of the destination", e->path);
  if (rel[0] == 0)
    return rd_copy (&R, -1, e->size, err); /* "./": the destination itself, left as it is (Docker skips it) */
  if (e->type == '2')
    {
      /* Docker's breakout check: a relative target may not climb above the destination. */
      char lexical[2 * PATH_BUF], dir[PATH_BUF], tmp[2 * PATH_BUF];
      const char *b;
      split_path (rel, dir, &b);
      snprintf (lexical, sizeof (lexical), "%s/%s", dir, e->linkpath);
      if (e->linkpath[0] != '/' && clean_relative (lexical, tmp, sizeof (tmp)) < 0)
        return bu_invalid (err, 0, "invalid symlink `%s` -> `%s`: outside the destination", e->path, e->linkpath);
    }
  if (entry_meta (x, e, &m, err) < 0)
    return -1;
  if (join (full, sizeof (full), x->dest, rel, err) < 0)
    return -1;
  split_path (full, parent, &base);
  pfd = open_dir_in_root (x->rootfd, parent, 1, NULL, err);
  if (pfd < 0)
    return bu_wrap (err, "`%s`", e->path);
  exists = fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT)
    return bu_sys (err, errno, "stat `/%s`", full);
  if (exists && (S_ISDIR (st.st_mode) ? 1 : 0) != isdir)
    {
      if (isdir)
        bu_sys (err, 0, "cannot overwrite non-directory `/%s` with directory `%s`", full, e->path);
      else
        bu_sys (err, 0, "cannot overwrite directory `/%s` with non-directory `%s`", full, e->path);
      err->invalid = BR_CONFLICT;
      return -1;
    }
  if (exists && !isdir && unlinkat (pfd, base, 0) < 0)
    return bu_sys (err, errno, "replace `/%s`", full);

  switch (e->type)
    {
    case '0':
      {
        cleanup_close int fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return bu_sys (err, errno, "create `/%s`", full);
        if (rd_copy (&R, fd, e->size, err) < 0)
          return bu_wrap (err, "`/%s`", full);
        return meta_apply_fd (fd, &m, 1, full, err);
      }
    case '5':
      {
        cleanup_close int fd = -1;
        if (!exists && mkdirat (pfd, base, 0700) < 0)
          return bu_sys (err, errno, "mkdir `/%s`", full);
        fd = openat (pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          return bu_sys (err, errno, "open directory `/%s`", full);
        if (meta_apply_fd (fd, &m, 0, full, err) < 0 || defer_times (x, full, &m, err) < 0)
          return -1;
        break;
      }
    case '1':
      if (make_hardlink (x, e, pfd, base, err) < 0)
        return -1;
      break;
    case '2':
      if (symlinkat (e->linkpath, pfd, base) < 0)
        return bu_sys (err, errno, "symlink `/%s`", full);
      if (meta_apply_at (pfd, base, &m, full, err) < 0)
        return -1;
      break;
    default:
      if (mknodat (pfd, base, m.mode & (S_IFMT | 0777), makedev (e->devmajor, e->devminor)) < 0)
        return bu_sys (err, errno, "mknod `/%s`", full);
      if (meta_apply_at (pfd, base, &m, full, err) < 0)
        return -1;
    }
  return rd_copy (&R, -1, e->size, err);
}

int
extract_tar (int rootfd, const char *dest, int in, const struct extract_opts *o, uint64_t *entries, bu_error_t *err)
{
  char cdest[PATH_BUF];
  struct extractor x = { .rootfd = rootfd, .dest = cdest, .o = o };
  struct tar_entry e;
  int rc;
  cleanup_close int dfd = -1;

  if (strlen (dest) >= sizeof (cdest))
    return bu_invalid (err, ENAMETOOLONG, "destination");
  clean_path (dest, cdest);
  /* The destination is followed in-root (Docker resolves it in the container's scope). */
  dfd = openat2_in_root (rootfd, cdest, O_PATH | O_DIRECTORY);
  if (dfd < 0)
    {
      int e2 = errno;
      bu_sys (err, e2, "extraction point `/%s`", cdest);
      if (e2 == ENOENT)
        err->invalid = BR_NOTFOUND;
      return -1;
    }
  {
    /* Extract at the canonical place (a symlinked destination resolves once, here). */
    char canon[PATH_BUF];
    if (root_path (rootfd, cdest, canon, sizeof (canon), err) < 0)
      return -1;
    snprintf (cdest, sizeof (cdest), "%s", canon);
  }
  R.fd = in;
  *entries = 0;
  for (;;)
    {
      rc = tar_next (&R, &e, err);
      if (rc <= 0)
        break;
      (*entries)++;
      rc = extract_entry (&x, &e, err);
      if (rc == 0)
        rc = tar_skip_padding (&R, &e, err);
      tar_entry_free (&e);
      if (rc < 0)
        break;
    }
  for (size_t i = x.ndirs; rc == 0 && i > 0; i--)
    {
      cleanup_close int fd = openat2_in_root (rootfd, x.dirs[i - 1].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (fd >= 0 && futimens (fd, x.dirs[i - 1].ts) < 0)
        rc = bu_sys (err, errno, "set times of `/%s`", x.dirs[i - 1].path);
    }
  for (size_t i = 0; i < x.ndirs; i++)
    free (x.dirs[i].path);
  free (x.dirs);
  if (rc == 0)
    rc = rd_drain (&R, err);
  return rc < 0 ? -1 : 0;
}
