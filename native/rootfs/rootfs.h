/* berth-rootfs: reads and writes a container's filesystem for the engine (volume copy-up, cp in
 * and out, stat) without ever touching anything outside it. See PROTOCOL.md.
 *
 * Every path inside the container is resolved from one root fd with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) (unpack/resolve.c), and trees are walked from directory fds with
 * O_NOFOLLOW, so symlinks the container planted ("/etc/passwd", "../../..", a symlinked parent)
 * resolve inside it or are copied as links, never followed out. Error convention: unpack's
 * bu_error_t (crun style). */
#ifndef BR_ROOTFS_H
#define BR_ROOTFS_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "../unpack/error.h"

#define BR_XATTR_NAMES 65536
#define BR_XATTR_VALUES (1 << 20)
#define BR_MAX_XATTRS 256

/* bu_error_t.invalid beyond unpack's 0 (the host's fault) and 1 (bad input): */
#define BR_CONFLICT 3 /* a directory and a non-directory would replace each other */
#define BR_NOTFOUND 4 /* the path does not exist in the container */

/* status.c: JSON lines on stderr (stdout carries data: a tar for archive). */
void br_warning (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* {"type":"done",<fields>}; fields is a JSON fragment without braces ("" for none). */
void br_done (const char *fields);
/* {"type":"error","kind":"invalid|internal|usage|notfound|conflict","errno":E,"msg":..}; returns the exit code. */
int br_fail (const char *kind, const bu_error_t *err);
/* Appends a JSON string (quotes included) to buf at *o (bounded by cap). */
void br_json_string (char *buf, size_t cap, size_t *o, const char *s);

/* root.c: how the container's filesystem is reached. */
struct bind_spec
{
  const char *source;      /* host path (a volume's _data, a bind mount's source) */
  const char *destination; /* path inside the root */
  int readonly;
};

struct root_spec
{
  const char *dir;    /* --root: a directory on the host */
  int pid;            /* --pid: the running container's init: its /proc/PID/root (its own mounts included) */
  const char *mtype;  /* --mount TYPE SOURCE [--option O]... --tmpdir DIR: a snapshot, mounted privately */
  const char *msource;
  char **options;
  int noptions;
  const char *tmpdir;
  struct bind_spec *binds; /* --bind SRC DEST[:ro] (with --mount): the container's volumes */
  int nbinds;
};

/* Opens the root (O_PATH | O_DIRECTORY); with --mount, in a private mount namespace that dies
 * with this process. Returns the fd, or -1 with err set. */
int root_open (const struct root_spec *spec, bu_error_t *err);
void root_close (void);

/* meta.c: an inode's metadata, read from a source inode or a tar entry, applied to a new one. */
struct meta
{
  mode_t mode; /* type and permission bits */
  uid_t uid;
  gid_t gid;
  struct timespec atime, mtime;
  size_t nxattrs;
  const char *xattr_names[BR_MAX_XATTRS];
  const char *xattr_values[BR_MAX_XATTRS];
  size_t xattr_lens[BR_MAX_XATTRS];
};

/* Reads the xattrs of (dirfd, name) without following a final symlink into m (storage in buf). */
int meta_read_xattrs (int dirfd, const char *name, struct meta *m, char *names, char *values, bu_error_t *err);
/* Owner, xattrs, mode, then times on an open inode (files, directories). */
int meta_apply_fd (int fd, const struct meta *m, int times, const char *what, bu_error_t *err);
/* The same for (pfd, base) without following it (symlinks, devices, fifos, sockets). */
int meta_apply_at (int pfd, const char *base, const struct meta *m, const char *what, bu_error_t *err);
/* Xattrs never copied: overlayfs's own (trusted.overlay.*), which would steer the overlay. */
int meta_skip_xattr (const char *name);

/* copy.c: copy-up. */
struct copy_stats
{
  uint64_t entries, bytes;
};
/* Copies the tree under srcdir (an open directory inside the root) into dstdir (an empty
 * directory), preserving owners, modes, times, xattrs, symlinks, hardlinks within the tree,
 * devices, fifos and sockets; dstdir itself takes srcdir's owner and mode (Docker's
 * copyOwnership). */
int copy_tree (int srcdir, int dstdir, struct copy_stats *st, bu_error_t *err);

/* extract.c: cp into the container. */
struct extract_opts
{
  int chown;           /* --chown: every entry gets uid/gid below (docker cp -a) */
  uid_t uid;
  gid_t gid;
  const char *uidmap;  /* --uidmap/--gidmap "C:H:N[,C:H:N]": the container's user namespace */
  const char *gidmap;
};
int extract_tar (int rootfd, const char *dest, int in, const struct extract_opts *o, uint64_t *entries, bu_error_t *err);

/* volmount.c: a mounted local volume's mount on its directory (berthd's mount namespace). */
int volume_mount (const char *type, const char *device, const char *target, unsigned long flags, const char *data, bu_error_t *err);
/* Detaches it; a directory that is not a mount point is fine (EINVAL). */
int volume_umount (const char *target, bu_error_t *err);

/* changes.c: `docker diff` as `K/path\0` records on stdout (K: A, C, D). compare: lowers[0] is
 * the old tree; else upper is an overlay upper dir over the lowers (top first). */
int list_changes (int upperfd, const int *lowers, size_t nlowers, int compare, bu_error_t *err);

/* archive.c: cp out and export, a tar on stdout. */
struct archive_opts
{
  const char *name;  /* the archive name of PATH itself (Docker: its base name, or "." for "dir/.") */
  int contents_only; /* export: PATH's children only, named relative to it */
  const char *uidmap; /* the container's user namespace: host ids are written as container ids */
  const char *gidmap;
};
int archive_path (int rootfd, const char *path, const struct archive_opts *o, bu_error_t *err);

/* statpath.c */
int stat_path (int rootfd, const char *path, bu_error_t *err);

#endif
