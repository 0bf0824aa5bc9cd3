/* A tar writer on a file descriptor: USTAR headers, PAX records where USTAR cannot say it
 * (long or non-ASCII names, big ids or sizes, xattrs). */
#ifndef BERTH_TARW_H
#define BERTH_TARW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tar_xattr
{
  const char *name;
  const char *value;
  size_t len;
};

struct tar_hdr
{
  const char *name;     /* relative, no leading slash; directories end without '/' (added here) */
  char type;            /* '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
  uint32_t mode;        /* permission bits incl. setuid/setgid/sticky */
  uint64_t uid, gid;
  uint64_t size;        /* regular files */
  int64_t mtime;
  const char *linkname; /* hardlink target (relative) or symlink target */
  uint32_t devmajor, devminor;
  const struct tar_xattr *xattrs;
  size_t n_xattrs;
};

/* Returns 0, or -1 with errno set. */
int tar_header (int out, const struct tar_hdr *h);
/* Copies exactly `size` bytes from fd (a short file is an error: EIO), then pads to 512. */
int tar_copy_data (int out, int fd, uint64_t size);
int tar_end (int out);

#endif
