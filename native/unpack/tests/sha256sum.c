/* Test tool: SHA-256 of stdin through codec.h (whichever codec this build links), fed in uneven
 * pieces (a fixed pseudo-random walk over 0..257 bytes, plus whole 64 KiB runs) so block
 * boundaries fall everywhere; prints the hex digest. test/diff/unpack-portable.test.ts compares
 * it with Node's own SHA-256 and with the FIPS 180-4 example vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../codec.h"

int
main (void)
{
  size_t cap = 1 << 16, len = 0, off = 0;
  unsigned char *buf = malloc (cap), md[32];
  struct bu_sha256 *h = bu_sha256_new ();
  unsigned seed = 12345;
  ssize_t n;
  int i;

  if (buf == NULL || h == NULL)
    return 2;
  while ((n = read (0, buf + len, cap - len)) > 0)
    if ((len += (size_t) n) == cap && (buf = realloc (buf, cap *= 2)) == NULL)
      return 2;
  if (n < 0)
    return 2;
  while (off < len)
    {
      size_t k;
      seed = seed * 1103515245u + 12345u;
      k = (seed >> 16) % 8 == 0 ? 65536 : (seed >> 16) % 258;
      if (k > len - off)
        k = len - off;
      if (bu_sha256_update (h, buf + off, k) < 0)
        return 2;
      off += k;
    }
  if (bu_sha256_final (h, md) < 0)
    return 2;
  for (i = 0; i < 32; i++)
    printf ("%02x", md[i]);
  printf ("  %s codec, %s\n", bu_codec_name, bu_sha256_impl ());
  bu_sha256_free (h);
  free (buf);
  return 0;
}
