/* berth-diff: shared state of a walk (entry.c, walk.c). */
#ifndef BERTH_DIFF_H
#define BERTH_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "tarw.h"

#define XATTR_MAX 64

struct xattrs
{
  struct tar_xattr v[XATTR_MAX];
  size_t n;
  char names[16384];
  char values[65536];
  int opaque;     /* trusted.overlay.opaque=y */
  int redirect;   /* trusted.overlay.redirect or .metacopy: content lives elsewhere */
};

struct link_seen
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct diff
{
  int out;
  int overlay; /* reading an overlay upper dir: trusted.overlay.* has meaning and is never copied */
  struct link_seen *links;
  size_t n_links, cap_links;
  char err[512];
  uint64_t entries, whiteouts;
};

int diff_fail (struct diff *d, int e, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* xattrs of name in dirfd (final component not followed). */
int read_xattrs (struct diff *d, int dirfd, const char *name, struct xattrs *x);
/* Writes the entry for rel (name in dirfd, stat st), its data, or a hardlink to an earlier one. */
int emit_entry (struct diff *d, int dirfd, const char *name, const char *rel, const struct stat *st);
/* `.wh.<name>` in dir rel_dir ("" = the root). */
int emit_whiteout (struct diff *d, const char *rel_dir, const char *name, int64_t mtime);
int emit_opaque (struct diff *d, const char *rel_dir, int64_t mtime);
/* Sorted names of a directory (without . and ..); free with free_names. */
int list_dir (struct diff *d, int dirfd, char ***names, size_t *n);
void free_names (char **names, size_t n);
int walk_tree (struct diff *d, int dirfd, const char *rel);
int walk_compare (struct diff *d, int lfd, int ufd, const char *rel);

#endif
