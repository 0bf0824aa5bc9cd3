/* Streaming tar parser: ustar, GNU long names/links (L/K), PAX extended headers
 * (path, linkpath, size, uid, gid, mtime, atime, SCHILY.xattr.*). */
#ifndef BU_TAR_H
#define BU_TAR_H

#include <stdint.h>
#include <time.h>
#include "error.h"
#include "reader.h"

#define TAR_MAX_NAME 4096          /* PATH_MAX: longer names are refused */
#define TAR_MAX_PAX (1 << 20)      /* Go's archive/tar limit */
#define TAR_MAX_XATTRS 128

struct tar_xattr
{
  char *name;
  char *value;
  size_t len;
};

struct tar_entry
{
  char *path;     /* as stored, not cleaned */
  char *linkpath; /* symlink target or hardlink source */
  char type;      /* '0' reg, '1' link, '2' symlink, '3' chr, '4' blk, '5' dir, '6' fifo */
  uint32_t mode;  /* permission bits incl. setuid/setgid/sticky */
  int64_t uid, gid;
  uint64_t size; /* data bytes following the header (regular files only) */
  struct timespec mtime, atime;
  int has_atime;
  uint32_t devmajor, devminor;
  struct tar_xattr xattrs[TAR_MAX_XATTRS];
  size_t nxattrs;
};

/* Reads the next entry header (data left unread). Returns 1 for an entry, 0 at the end of the
 * archive, -1 on error. */
int tar_next (struct reader *r, struct tar_entry *e, bu_error_t *err);
/* Skips the entry's 512-byte padding after its data has been consumed. */
int tar_skip_padding (struct reader *r, const struct tar_entry *e, bu_error_t *err);
void tar_entry_free (struct tar_entry *e);

/* Exposed for tests of the numeric parser. */
int tar_parse_number (const unsigned char *f, size_t len, int64_t *out);

#endif
