/* Internals shared by sha256.c (plain C) and sha256_shani.c (x86 SHA extensions). */
#ifndef BU_SHA256_H
#define BU_SHA256_H

#include <stddef.h>
#include <stdint.h>

extern const uint32_t bu_sha256_k[64];

/* 1 when this CPU has the SHA extensions (and SSSE3/SSE4.1) and this build has the code. */
int bu_sha256_shani_usable (void);
/* FIPS 180-4 6.2.2 over `blocks` 64-byte blocks, updating h (a..h). */
void bu_sha256_compress_shani (uint32_t h[8], const unsigned char *p, size_t blocks);

#endif
