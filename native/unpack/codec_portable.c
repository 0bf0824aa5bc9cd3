/* The portable codec's inflate: zlib, loaded at run time with dlopen("libz.so.1"). Every Debian
 * has the zlib1g runtime (dpkg depends on it) but not zlib1g-dev, so nothing here needs zlib's
 * headers: the few prototypes and z_stream are declared below. z_stream's layout is part of
 * zlib's ABI for the whole 1.x series (libz.so.1); inflateInit2_ checks it from the version
 * string's major digit and sizeof (z_stream). SHA-256 is sha256.c. Without libz.so.1 only gzip
 * layers fail (with a message saying so); plain tar layers never load it. */
#include "codec.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char bu_codec_name[] = "portable";

/* zlib.h's struct z_stream_s, field for field (Bytef = unsigned char, uInt = unsigned int,
 * uLong = unsigned long, voidpf = void *). */
typedef struct
{
  unsigned char *next_in;
  unsigned int avail_in;
  unsigned long total_in;
  unsigned char *next_out;
  unsigned int avail_out;
  unsigned long total_out;
  const char *msg;
  void *state;
  void *zalloc; /* NULL: zlib's malloc */
  void *zfree;
  void *opaque;
  int data_type;
  unsigned long adler;
  unsigned long reserved;
} z_stream_abi;

#define Z_NO_FLUSH 0
#define Z_OK 0
#define Z_STREAM_END 1
#define Z_BUF_ERROR (-5)
#define Z_MEM_ERROR (-4)
/* inflateInit2_ compares only the major digit with the library's own version. */
#define ZLIB_ABI_VERSION "1.2.13"
/* 15: a 32 KiB window (any gzip stream); +16: gzip wrapper only, CRC-32 and length checked. */
#define GZIP_WINDOW_BITS (16 + 15)

static struct
{
  const char *(*version) (void);
  int (*init2) (z_stream_abi *, int, const char *, int);
  int (*inflate) (z_stream_abi *, int);
  int (*reset) (z_stream_abi *);
  int (*end) (z_stream_abi *);
} zl;
static char zl_error[320];
static pthread_once_t zl_once = PTHREAD_ONCE_INIT;

static void
zl_load (void)
{
  void *h = dlopen ("libz.so.1", RTLD_NOW | RTLD_LOCAL);

  if (h == NULL)
    {
      const char *e = dlerror ();
      snprintf (zl_error, sizeof (zl_error), "cannot load zlib, which gzip layers need in this build (install zlib1g): %s",
                e ? e : "libz.so.1 not found");
      return;
    }
  zl.version = (const char *(*) (void)) dlsym (h, "zlibVersion");
  zl.init2 = (int (*) (z_stream_abi *, int, const char *, int)) dlsym (h, "inflateInit2_");
  zl.inflate = (int (*) (z_stream_abi *, int)) dlsym (h, "inflate");
  zl.reset = (int (*) (z_stream_abi *)) dlsym (h, "inflateReset");
  zl.end = (int (*) (z_stream_abi *)) dlsym (h, "inflateEnd");
  if (!zl.version || !zl.init2 || !zl.inflate || !zl.reset || !zl.end || zl.version ()[0] != '1')
    {
      snprintf (zl_error, sizeof (zl_error), "libz.so.1 is not a zlib 1.x (version %s)",
                zl.version ? zl.version () : "unknown");
      zl.inflate = NULL;
    }
}

struct bu_inflate
{
  z_stream_abi s;
  const char *err;
};

int
bu_inflate_new (struct bu_inflate **out, const char **why)
{
  struct bu_inflate *z;
  int ret;

  pthread_once (&zl_once, zl_load);
  if (zl.inflate == NULL)
    {
      *why = zl_error;
      return -1;
    }
  if ((z = calloc (1, sizeof (*z))) == NULL)
    {
      *why = "out of memory";
      return -1;
    }
  ret = zl.init2 (&z->s, GZIP_WINDOW_BITS, ZLIB_ABI_VERSION, (int) sizeof (z->s));
  if (ret != Z_OK)
    {
      *why = ret == Z_MEM_ERROR ? "out of memory" : "zlib refused to start an inflate (inflateInit2_)";
      free (z);
      return -1;
    }
  *out = z;
  return 0;
}

/* zlib's message in the fast codec's (ISA-L's) words, so both builds report a layer alike. */
static const char *
error_text (const char *m, int ret)
{
  if (ret == Z_MEM_ERROR)
    return "out of memory";
  if (m == NULL)
    return "corrupt data";
  if (strcmp (m, "incorrect header check") == 0 || strcmp (m, "unknown header flags set") == 0
      || strcmp (m, "header crc mismatch") == 0)
    return "invalid gzip header";
  if (strcmp (m, "unknown compression method") == 0)
    return "unsupported compression method";
  if (strcmp (m, "incorrect data check") == 0 || strcmp (m, "incorrect length check") == 0)
    return "checksum mismatch";
  if (strcmp (m, "invalid distance too far back") == 0)
    return "invalid lookback distance";
  if (strcmp (m, "invalid literal/length code") == 0 || strcmp (m, "invalid distance code") == 0)
    return "invalid deflate symbol";
  /* The rest ("invalid block type", "invalid code lengths set", ...) are about block headers. */
  return "invalid deflate block";
}

int
bu_inflate_step (struct bu_inflate *z, unsigned char **next_in, size_t *avail_in, unsigned char **next_out,
                 size_t *avail_out)
{
  z_stream_abi *s = &z->s;
  unsigned int in = *avail_in > 0xffffffffu ? 0xffffffffu : (unsigned int) *avail_in;
  unsigned int out = *avail_out > 0xffffffffu ? 0xffffffffu : (unsigned int) *avail_out;
  int ret;

  s->next_in = *next_in;
  s->avail_in = in;
  s->next_out = *next_out;
  s->avail_out = out;
  ret = zl.inflate (s, Z_NO_FLUSH);
  *avail_in -= (size_t) (s->next_in - *next_in);
  *next_in = s->next_in;
  *avail_out -= (size_t) (s->next_out - *next_out);
  *next_out = s->next_out;
  if (ret == Z_STREAM_END)
    return BU_INFLATE_MEMBER_END;
  /* Z_BUF_ERROR is "no progress possible": the caller decides whether input ran out too early. */
  if (ret == Z_OK || ret == Z_BUF_ERROR)
    return BU_INFLATE_MORE;
  z->err = error_text (s->msg, ret);
  return BU_INFLATE_ERROR;
}

const char *
bu_inflate_error (const struct bu_inflate *z)
{
  return z->err ? z->err : "corrupt data";
}

int
bu_inflate_reset (struct bu_inflate *z)
{
  return zl.reset (&z->s) == Z_OK ? 0 : -1;
}

void
bu_inflate_free (struct bu_inflate *z)
{
  if (z == NULL)
    return;
  zl.end (&z->s);
  free (z);
}
