/* SHA-256's compression function (FIPS 180-4 6.2.2) on the x86 SHA extensions, for the portable
 * codec on CPUs that have them (Intel since Ice Lake/Goldmont, AMD since Zen); sha256.c picks it
 * at run time. The instructions' contract (Intel SDM, SHA256RNDS2/SHA256MSG1/SHA256MSG2):
 *   RNDS2(cdgh, abef, wk): two rounds with W+K in wk's lanes 0 and 1; returns the new abef (the
 *                          new cdgh is the old abef). State words sit high lane first: abef holds
 *                          A in lane 3, B in 2, E in 1, F in 0.
 *   MSG1(w[t-16..t-13], w[t-12..t-9]) = w[i] + sigma0(w[i+1]) for the four i = t-16..t-13.
 *   MSG2(that + w[t-7..t-4], w[t-4..t-1]) = w[t..t+3] (it adds sigma1 of w[t-2], w[t-1], w[t],
 *                          w[t+1], the last two computed on the way).
 * Compiled for those instructions only inside this file's functions (target attribute), so the
 * rest of berth-unpack runs on any x86-64. */
#include "sha256.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

int
bu_sha256_shani_usable (void)
{
  unsigned a, b, c, d;

  if (!__get_cpuid (1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
    return 0;
  if (!__get_cpuid_count (7, 0, &a, &b, &c, &d))
    return 0;
  return (b & (1u << 29)) != 0; /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
}

__attribute__ ((target ("sha,ssse3,sse4.1"))) void
bu_sha256_compress_shani (uint32_t h[8], const unsigned char *p, size_t blocks)
{
  /* Message words are big-endian: swap the bytes of each 32-bit lane. */
  const __m128i bswap = _mm_set_epi64x (0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i abcd = _mm_loadu_si128 ((const __m128i *) h);       /* lanes A B C D */
  __m128i efgh = _mm_loadu_si128 ((const __m128i *) (h + 4)); /* lanes E F G H */
  __m128i badc = _mm_shuffle_epi32 (abcd, 0xb1);              /* B A D C */
  __m128i hgfe = _mm_shuffle_epi32 (efgh, 0x1b);              /* H G F E */
  __m128i abef = _mm_alignr_epi8 (badc, hgfe, 8);             /* F E B A: A in lane 3 */
  __m128i cdgh = _mm_blend_epi16 (hgfe, badc, 0xf0);          /* H G D C: C in lane 3 */

  while (blocks-- > 0)
    {
      __m128i save_abef = abef, save_cdgh = cdgh, w[4], wk;
      int i;

#pragma GCC unroll 16
      for (i = 0; i < 16; i++)
        {
          if (i < 4)
            w[i] = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (p + 16 * i)), bswap);
          else
            {
              /* w[i&3] holds w[4i-16..], w[(i+1)&3] w[4i-12..], w[(i+2)&3] w[4i-8..], w[(i+3)&3] w[4i-4..] */
              __m128i t7 = _mm_alignr_epi8 (w[(i + 3) & 3], w[(i + 2) & 3], 4); /* w[4i-7..4i-4] */
              w[i & 3] = _mm_sha256msg2_epu32 (_mm_add_epi32 (_mm_sha256msg1_epu32 (w[i & 3], w[(i + 1) & 3]), t7),
                                               w[(i + 3) & 3]);
            }
          wk = _mm_add_epi32 (w[i & 3], _mm_loadu_si128 ((const __m128i *) (bu_sha256_k + 4 * i)));
          cdgh = _mm_sha256rnds2_epu32 (cdgh, abef, wk); /* rounds 4i, 4i+1: cdgh now holds abef */
          wk = _mm_shuffle_epi32 (wk, 0x0e);             /* lanes 2, 3 down to 0, 1 */
          abef = _mm_sha256rnds2_epu32 (abef, cdgh, wk); /* rounds 4i+2, 4i+3 */
        }
      abef = _mm_add_epi32 (abef, save_abef);
      cdgh = _mm_add_epi32 (cdgh, save_cdgh);
      p += 64;
    }
  {
    __m128i x = _mm_shuffle_epi32 (abef, 0x1b); /* lanes A B E F */
    __m128i y = _mm_shuffle_epi32 (cdgh, 0xb1); /* lanes G H C D */
    _mm_storeu_si128 ((__m128i *) h, _mm_blend_epi16 (x, y, 0xf0));         /* A B C D */
    _mm_storeu_si128 ((__m128i *) (h + 4), _mm_alignr_epi8 (y, x, 8));      /* E F G H */
  }
}

#else

int
bu_sha256_shani_usable (void)
{
  return 0;
}

void
bu_sha256_compress_shani (uint32_t h[8], const unsigned char *p, size_t blocks)
{
  (void) h, (void) p, (void) blocks; /* never picked: bu_sha256_shani_usable says 0 */
}

#endif
