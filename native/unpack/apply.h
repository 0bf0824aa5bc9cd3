/* Applies tar entries under a root directory. */
#ifndef BU_APPLY_H
#define BU_APPLY_H

#include <stdint.h>
#include <time.h>
#include "error.h"
#include "pathset.h"
#include "reader.h"
#include "resolve.h"
#include "tar.h"

struct dirtime
{
  char *path;
  struct timespec ts[2];
};

struct applier
{
  int rootfd;    /* O_PATH, opened once: every lookup starts here */
  int overlay;   /* 1: the root is an overlay upper dir (whiteouts become 0:0 char devices) */
  int root_user; /* chown only when running as root */
  struct pathset written;
  struct dirtime *dirs;
  size_t ndirs, capdirs;
  uint64_t entries;
  /* What a staged extraction (no lowers, overlay mode) must know to be reused elsewhere. */
  uint64_t whiteouts; /* .wh. entries, opaque markers included */
  struct parents parents; /* lower dirs (overlay mode), top first */
  /* --min-free: bytes to leave free on the root's filesystem (0: no check), and how much may
   * still be written before statfs is asked again. */
  uint64_t min_free;
  uint64_t budget;
  /* The last entry's parent directory (O_PATH, in-root) and its path: entries of one directory
   * come together in a tar, so most skip the lookup. Dropped whenever anything is removed. */
  int pcache_fd;
  char *pcache_path;
  /* The cached parent's group and setgid bit: what a new inode's group will be. */
  gid_t pcache_gid;
  int pcache_setgid;
  /* The root was empty at start: no directory there has a default ACL, so an inode created with
   * the entry's permission bits has them (until the layer sets a default ACL: acl_default_seen). */
  int fresh;
  int acl_default_seen;
  uid_t euid;
  gid_t egid;
};

int applier_init (struct applier *a, const char *root, int overlay, bu_error_t *err);
/* Forgets the cached parent directory: call before removing anything (a removed or replaced
 * component would make the cached fd stale). */
void applier_forget_parent (struct applier *a);
/* Applies one entry and consumes its data and padding. */
int apply_entry (struct applier *a, struct tar_entry *e, struct reader *r, bu_error_t *err);
/* Sets directory times, deepest last-seen first (after their contents were written). */
int apply_finish (struct applier *a, bu_error_t *err);
void applier_free (struct applier *a);

/* meta.c: owner, xattrs, mode (after chown: chown clears setuid bits), then times (when `times`). */
void entry_times (const struct tar_entry *e, struct timespec ts[2]);
enum
{
  META_CHOWN = 1,
  META_CHMOD = 2,
  META_TIMES = 4
};
int meta_fd (struct applier *a, int fd, const struct tar_entry *e, const char *path, unsigned what, bu_error_t *err);
int meta_at (struct applier *a, int pfd, const char *base, const struct tar_entry *e, const char *path, int chown,
             bu_error_t *err);

/* whiteout.c */
int remove_all_at (int dfd, const char *name, bu_error_t *err);
int apply_whiteout (struct applier *a, const char *parent, const char *base, const struct tar_entry *e, bu_error_t *err);
/* Records path and all its ancestors as written by this layer. */
int mark_written (struct applier *a, const char *path, bu_error_t *err);

/* main.c: one JSON line on stdout. */
void emit_warning (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
