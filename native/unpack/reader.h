/* Buffered reader over the layer's tar bytes: from an fd, or from the decoder thread's chunks
 * (decode.h). Truncation (EOF inside a record) is an invalid archive. */
#ifndef BU_READER_H
#define BU_READER_H

#include <stdint.h>
#include "decode.h"
#include "error.h"

#define READER_BUF (1 << 20)

struct reader
{
  int fd;
  struct decoder *dec; /* non-NULL: chunks come from the decoder, fd is unused */
  unsigned char *buf;  /* the current chunk: own, or a decoder slot */
  size_t pos, len;
  int eof;
  uint64_t consumed;
  unsigned char own[READER_BUF];
};

/* Reads up to n bytes; returns bytes read (0 at EOF) or -1. */
ssize_t rd_some (struct reader *r, void *dst, size_t n, bu_error_t *err);
/* Reads exactly n bytes or fails (truncated archive). */
int rd_full (struct reader *r, void *dst, size_t n, bu_error_t *err);
/* Copies exactly n bytes to fd (or discards them when fd < 0). */
int rd_copy (struct reader *r, int fd, uint64_t n, bu_error_t *err);
/* Reads to EOF, discarding. */
int rd_drain (struct reader *r, bu_error_t *err);

#endif
