/* The fast codec: ISA-L's igzip (inflate, several times zlib's speed) and OpenSSL's SHA-256 (SHA-NI
 * / AVX2 code). Needs libisal-dev and libssl-dev to build, libisal2 and libssl3 to run. */
#include "codec.h"

#include <stdint.h>
#include <stdlib.h>

#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>

const char bu_codec_name[] = "fast";

struct bu_sha256
{
  EVP_MD_CTX *ctx;
};

const char *
bu_sha256_impl (void)
{
  return "openssl";
}

struct bu_sha256 *
bu_sha256_new (void)
{
  struct bu_sha256 *h = malloc (sizeof (*h));

  if (h == NULL)
    return NULL;
  h->ctx = EVP_MD_CTX_new ();
  if (h->ctx == NULL || EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    {
      bu_sha256_free (h);
      return NULL;
    }
  return h;
}

int
bu_sha256_update (struct bu_sha256 *h, const void *data, size_t len)
{
  return EVP_DigestUpdate (h->ctx, data, len) == 1 ? 0 : -1;
}

int
bu_sha256_final (struct bu_sha256 *h, unsigned char md[32])
{
  unsigned n = 0;

  return EVP_DigestFinal_ex (h->ctx, md, &n) == 1 && n == 32 ? 0 : -1;
}

void
bu_sha256_free (struct bu_sha256 *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  free (h);
}

struct bu_inflate
{
  int last; /* the last isal_inflate error */
  struct inflate_state st;
};

int
bu_inflate_new (struct bu_inflate **out, const char **why)
{
  struct bu_inflate *z = malloc (sizeof (*z));

  if (z == NULL)
    {
      *why = "out of memory";
      return -1;
    }
  z->last = 0;
  isal_inflate_init (&z->st);
  z->st.crc_flag = ISAL_GZIP;
  *out = z;
  return 0;
}

int
bu_inflate_step (struct bu_inflate *z, unsigned char **next_in, size_t *avail_in, unsigned char **next_out,
                 size_t *avail_out)
{
  struct inflate_state *st = &z->st;
  /* The decoder's buffers are far below 4 GiB; clamp anyway, the rest stays for the next call. */
  uint32_t in = *avail_in > UINT32_MAX ? UINT32_MAX : (uint32_t) *avail_in;
  uint32_t out = *avail_out > UINT32_MAX ? UINT32_MAX : (uint32_t) *avail_out;
  int ret;

  st->next_in = *next_in;
  st->avail_in = in;
  st->next_out = *next_out;
  st->avail_out = out;
  ret = isal_inflate (st);
  *avail_in -= (size_t) (st->next_in - *next_in);
  *next_in = st->next_in;
  *avail_out -= (size_t) (st->next_out - *next_out);
  *next_out = st->next_out;
  if (ret < 0)
    {
      z->last = ret;
      return BU_INFLATE_ERROR;
    }
  return st->block_state == ISAL_BLOCK_FINISH ? BU_INFLATE_MEMBER_END : BU_INFLATE_MORE;
}

const char *
bu_inflate_error (const struct bu_inflate *z)
{
  switch (z->last)
    {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid lookback distance";
    case ISAL_INVALID_WRAPPER:
      return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "checksum mismatch";
    default:
      return "corrupt data";
    }
}

int
bu_inflate_reset (struct bu_inflate *z)
{
  isal_inflate_reset (&z->st);
  z->st.crc_flag = ISAL_GZIP;
  return 0;
}

void
bu_inflate_free (struct bu_inflate *z)
{
  free (z);
}
