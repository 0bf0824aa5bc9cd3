/* SHA-256 (FIPS 180-4, sections 4.1.2, 4.2.2, 5.1.1, 5.3.3, 6.2) for the portable codec, no
 * library: plain C (~260 MiB/s here, a quarter of OpenSSL), and on x86-64 CPUs with the SHA
 * extensions the same compression function on SHA256RNDS2/MSG1/MSG2 (sha256_shani.c), chosen
 * once at run time. berth-unpack hashes both the blob and the tar, so this is about half of a
 * portable build's CPU per gzip layer. BERTH_SHA256_NO_SHANI=1 forces the plain C path (tests). */
#include "codec.h"
#include "sha256.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bu_sha256
{
  uint32_t h[8];
  uint64_t bytes;          /* message length so far */
  size_t n;                /* bytes waiting in buf */
  unsigned char buf[64];
};

/* The first 32 bits of the fractional parts of the cube roots of the first 64 primes (4.2.2). */
const uint32_t bu_sha256_k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The first 32 bits of the fractional parts of the square roots of the first 8 primes (5.3.3). */
static const uint32_t H0[8] = {
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x) (ROTR (x, 2) ^ ROTR (x, 13) ^ ROTR (x, 22))
#define BSIG1(x) (ROTR (x, 6) ^ ROTR (x, 11) ^ ROTR (x, 25))
#define SSIG0(x) (ROTR (x, 7) ^ ROTR (x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR (x, 17) ^ ROTR (x, 19) ^ ((x) >> 10))

static inline uint32_t
load_be32 (const unsigned char *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

/* 6.2.2 over `blocks` 64-byte blocks. The schedule W is kept as a 16-word ring (W[t] only needs
 * W[t-2], W[t-7], W[t-15] and W[t-16]). */
static void
compress_c (uint32_t h[8], const unsigned char *p, size_t blocks)
{
  while (blocks-- > 0)
    {
      uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
      int t;

      for (t = 0; t < 64; t++)
        {
          uint32_t wt, t1, t2;

          if (t < 16)
            wt = w[t] = load_be32 (p + 4 * t);
          else
            wt = w[t & 15] += SSIG1 (w[(t - 2) & 15]) + w[(t - 7) & 15] + SSIG0 (w[(t - 15) & 15]);
          t1 = hh + BSIG1 (e) + CH (e, f, g) + bu_sha256_k[t] + wt;
          t2 = BSIG0 (a) + MAJ (a, b, c);
          hh = g;
          g = f;
          f = e;
          e = d + t1;
          d = c;
          c = b;
          b = a;
          a = t1 + t2;
        }
      h[0] += a;
      h[1] += b;
      h[2] += c;
      h[3] += d;
      h[4] += e;
      h[5] += f;
      h[6] += g;
      h[7] += hh;
      p += 64;
    }
}

static void (*compress) (uint32_t h[8], const unsigned char *p, size_t blocks) = compress_c;
static pthread_once_t pick_once = PTHREAD_ONCE_INIT;

static void
pick (void)
{
  const char *e = getenv ("BERTH_SHA256_NO_SHANI");

  if (bu_sha256_shani_usable () && !(e && *e && strcmp (e, "0") != 0))
    compress = bu_sha256_compress_shani;
}

const char *
bu_sha256_impl (void)
{
  pthread_once (&pick_once, pick);
  return compress == compress_c ? "c" : "sha-ni";
}

struct bu_sha256 *
bu_sha256_new (void)
{
  struct bu_sha256 *s = malloc (sizeof (*s));

  pthread_once (&pick_once, pick);
  if (s == NULL)
    return NULL;
  memcpy (s->h, H0, sizeof (H0));
  s->bytes = 0;
  s->n = 0;
  return s;
}

int
bu_sha256_update (struct bu_sha256 *s, const void *data, size_t len)
{
  const unsigned char *p = data;

  s->bytes += len;
  if (s->n > 0)
    {
      size_t k = 64 - s->n < len ? 64 - s->n : len;
      memcpy (s->buf + s->n, p, k);
      s->n += k;
      p += k;
      len -= k;
      if (s->n < 64)
        return 0;
      compress (s->h, s->buf, 1);
      s->n = 0;
    }
  if (len >= 64)
    {
      compress (s->h, p, len / 64);
      p += len & ~(size_t) 63;
      len &= 63;
    }
  memcpy (s->buf, p, len);
  s->n = len;
  return 0;
}

/* 5.1.1: a 1 bit, zeros up to 56 mod 64, then the message length in bits, big-endian. */
int
bu_sha256_final (struct bu_sha256 *s, unsigned char md[32])
{
  uint64_t bits = s->bytes * 8;
  int i;

  s->buf[s->n++] = 0x80;
  if (s->n > 56)
    {
      memset (s->buf + s->n, 0, 64 - s->n);
      compress (s->h, s->buf, 1);
      s->n = 0;
    }
  memset (s->buf + s->n, 0, 56 - s->n);
  for (i = 0; i < 8; i++)
    s->buf[56 + i] = (unsigned char) (bits >> (56 - 8 * i));
  compress (s->h, s->buf, 1);
  for (i = 0; i < 8; i++)
    {
      md[4 * i] = (unsigned char) (s->h[i] >> 24);
      md[4 * i + 1] = (unsigned char) (s->h[i] >> 16);
      md[4 * i + 2] = (unsigned char) (s->h[i] >> 8);
      md[4 * i + 3] = (unsigned char) s->h[i];
    }
  return 0;
}

void
bu_sha256_free (struct bu_sha256 *s)
{
  free (s);
}
