/* The two codecs the decoder needs (plus zstd.c, shared by both), behind one small interface so berth-unpack builds with only
 * gcc + libc (the `npm ci` requirement) and is still fast where the -dev packages are installed:
 *   codec_fast.c      ISA-L inflate + OpenSSL SHA-256 (libisal-dev, libssl-dev at build time)
 *   codec_portable.c  SHA-256 written here (sha256.c) + zlib's inflate, dlopen'ed from libz.so.1
 *                     at run time (the zlib1g runtime is on every Debian, its headers are not)
 * The Makefile links exactly one of them (BERTH_CODEC=fast|portable, detected by default). */
#ifndef BU_CODEC_H
#define BU_CODEC_H

#include <stddef.h>

/* Which implementation was linked ("fast" or "portable"), for diagnostics. */
extern const char bu_codec_name[];

struct bu_sha256;

/* Which SHA-256 code runs: "openssl" (fast), "sha-ni" or "c" (portable, by CPU). */
const char *bu_sha256_impl (void);

/* NULL when out of memory. */
struct bu_sha256 *bu_sha256_new (void);
/* 0, or -1 (the fast codec's libcrypto failed: treated as ENOMEM). */
int bu_sha256_update (struct bu_sha256 *h, const void *data, size_t len);
/* Writes the 32-byte digest; the context must not be updated afterwards. 0 or -1. */
int bu_sha256_final (struct bu_sha256 *h, unsigned char md[32]);
void bu_sha256_free (struct bu_sha256 *h); /* NULL is fine */

/* gzip inflate, one member at a time; bu_inflate_reset starts the next member. */
struct bu_inflate;

enum
{
  BU_INFLATE_ERROR = -1,   /* corrupt data: bu_inflate_error says what */
  BU_INFLATE_MORE = 0,     /* made what progress it could: give more input or more output room */
  BU_INFLATE_MEMBER_END = 1 /* the member's trailer (CRC, length) checked: input after it is unread */
};

/* 0, or -1 with *why a static message (out of memory, or zlib could not be loaded). */
int bu_inflate_new (struct bu_inflate **out, const char **why);
/* Consumes input (next_in, avail_in) and fills output (next_out, avail_out), advancing all four. */
int bu_inflate_step (struct bu_inflate *z, unsigned char **next_in, size_t *avail_in, unsigned char **next_out,
                     size_t *avail_out);
/* What the last BU_INFLATE_ERROR was ("invalid deflate block", "checksum mismatch", ...). */
const char *bu_inflate_error (const struct bu_inflate *z);
/* Ready for another member: its gzip header is checked like the first one's. 0 or -1. */
int bu_inflate_reset (struct bu_inflate *z);
void bu_inflate_free (struct bu_inflate *z); /* NULL is fine */

/* zstd (zstd.c, linked in both codecs: libzstd is dlopen'ed from libzstd.so.1 on the first zstd
 * layer). Same contract as bu_inflate_*; BU_INFLATE_MEMBER_END comes at the end of each frame, and
 * the next step starts the next frame (no reset). */
struct bu_zstd;

/* 0, or -1 with *why a static message (out of memory, or libzstd could not be loaded). */
int bu_zstd_new (struct bu_zstd **out, const char **why);
int bu_zstd_step (struct bu_zstd *z, unsigned char **next_in, size_t *avail_in, unsigned char **next_out,
                  size_t *avail_out);
const char *bu_zstd_error (const struct bu_zstd *z);
void bu_zstd_free (struct bu_zstd *z); /* NULL is fine */

#endif
