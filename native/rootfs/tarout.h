/* The tar writer archive.c writes through (tarout.c). */
#ifndef BR_TAROUT_H
#define BR_TAROUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "../unpack/error.h"

struct tar_out
{
  const char *name;     /* relative; a directory gets its '/' here */
  char type;            /* '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
  uint32_t mode;        /* permission bits incl. setuid/setgid/sticky */
  uint64_t uid, gid;
  uint64_t size;        /* regular files */
  int64_t mtime;        /* seconds (Docker truncates to them) */
  const char *linkname; /* hardlink target (archive name) or symlink target */
  uint32_t devmajor, devminor;
  size_t nxattrs;
  const char *const *xattr_names;
  const char *const *xattr_values;
  const size_t *xattr_lens;
};

/* Header (and a PAX header first when needed). Returns 0, or -1 with errno set. */
int tar_entry (int out, const struct tar_out *t);
/* `size` bytes of fd (zeros if it shrank meanwhile), padded to 512. */
int tar_data (int out, int fd, uint64_t size);
/* The two zero blocks, then flush. */
int tar_finish (int out);
int tar_flush (int out);

#endif
