/* The PAX / GNU extension state that applies to the next tar entry, shared by tar.c (headers)
 * and tar_pax.c (PAX records), split to keep each file readable. */
#ifndef BU_TAR_PENDING_H
#define BU_TAR_PENDING_H

#include "tar.h"

struct pending
{
  char *path;     /* from PAX path or GNU 'L' */
  char *linkpath; /* from PAX linkpath or GNU 'K' */
  int has_size, has_uid, has_gid, has_mtime, has_atime;
  uint64_t size;
  int64_t uid, gid;
  struct timespec mtime, atime;
  struct tar_xattr xattrs[TAR_MAX_XATTRS];
  size_t nxattrs;
};

void pending_free (struct pending *p);
/* Applies one PAX extended header (`global`: a 'g' header, whose per-file keys are refused). */
int parse_pax (char *buf, size_t size, struct pending *p, int global, bu_error_t *err);

#endif
