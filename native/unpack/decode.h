/* The decoder thread: reads the layer blob from an fd, sniffs its compression (gzip, zstd or a
 * plain tar), decompresses, and SHA-256s both the input (the blob's digest) and the output (the
 * diff_id), handing the tar bytes to the extraction thread through a small ring of buffers.
 * Inflate + hashing then overlap with file creation instead of taking turns. The codecs are
 * codec.h's: ISA-L + OpenSSL (fast), or zlib + sha256.c (portable). */
#ifndef BU_DECODE_H
#define BU_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct decoder;

struct decode_result
{
  const char *format;      /* "gzip", "zstd" or "tar" */
  char input_digest[72];   /* sha256:<hex> of every byte read from the fd ("" if unknown) */
  uint64_t input_size;
  char digest[72];         /* sha256:<hex> of the uncompressed stream */
  uint64_t size;
};

/* Starts the thread on fd (not closed). hash_input 0: no input digest (the caller verified the
 * blob already), which saves a SHA-256 pass over a compressed blob. follow > 0: fd is a file
 * still being written (a content ingest) that will hold `follow` bytes; reads wait for it. */
int decoder_start (struct decoder **out, int fd, int hash_input, uint64_t follow, bu_error_t *err);
/* The next chunk of tar bytes (valid until the next call); *len 0 at the end of the stream.
 * A decode failure (corrupt or truncated gzip or zstd) is returned here, in stream order. */
int decoder_next (struct decoder *d, unsigned char **buf, size_t *len, bu_error_t *err);
/* Stops decompressing but keeps reading and hashing the input to EOF (so the caller still learns
 * the blob's digest after a failure), joins the thread, fills *res and frees d. Returns the
 * decoder's own failure (< 0, err filled) if it had one and `err` was not already set by the
 * caller (had_error 0). */
int decoder_finish (struct decoder *d, struct decode_result *res, int had_error, bu_error_t *err);

#endif
