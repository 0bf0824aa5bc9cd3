/* zstd decompression for `+zstd` layers, in both codecs: libzstd loaded at run time with
 * dlopen("libzstd.so.1"), as the portable codec loads zlib, so the build still needs only gcc and
 * libc (Debian's libzstd1 runtime is on every system: dpkg and apt depend on it; libzstd-dev is
 * not). Nothing here needs zstd.h: the few prototypes and the in/out buffer structs, stable parts
 * of libzstd's ABI since 1.3, are declared below. Without libzstd.so.1 only zstd layers fail,
 * with a message saying so.
 *
 * Several frames back to back are one stream (as `zstd -d` and Go's decoders read them);
 * skippable frames are skipped by libzstd; a frame's content checksum, when present, is checked
 * by it. The window is limited to libzstd's default (128 MiB), so a hostile frame cannot make
 * it allocate more. */
#include "codec.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  const void *src;
  size_t size;
  size_t pos;
} zstd_in;

typedef struct
{
  void *dst;
  size_t size;
  size_t pos;
} zstd_out;

static struct
{
  unsigned (*version) (void);
  void *(*create) (void);
  size_t (*free) (void *);
  size_t (*init) (void *);
  size_t (*decompress) (void *, zstd_out *, zstd_in *);
  unsigned (*is_error) (size_t);
  const char *(*error_name) (size_t);
} zs;
static char zs_error[320];
static pthread_once_t zs_once = PTHREAD_ONCE_INIT;

static void
zs_load (void)
{
  void *h = dlopen ("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);

  if (h == NULL)
    {
      const char *e = dlerror ();
      snprintf (zs_error, sizeof (zs_error), "cannot load libzstd, which zstd layers need (install libzstd1): %s",
                e ? e : "libzstd.so.1 not found");
      return;
    }
  zs.version = (unsigned (*) (void)) dlsym (h, "ZSTD_versionNumber");
  zs.create = (void *(*) (void)) dlsym (h, "ZSTD_createDStream");
  zs.free = (size_t (*) (void *)) dlsym (h, "ZSTD_freeDStream");
  zs.init = (size_t (*) (void *)) dlsym (h, "ZSTD_initDStream");
  zs.decompress = (size_t (*) (void *, zstd_out *, zstd_in *)) dlsym (h, "ZSTD_decompressStream");
  zs.is_error = (unsigned (*) (size_t)) dlsym (h, "ZSTD_isError");
  zs.error_name = (const char *(*) (size_t)) dlsym (h, "ZSTD_getErrorName");
  /* The streaming API and its buffer structs are stable since 1.3.0 (10300). */
  if (!zs.version || !zs.create || !zs.free || !zs.init || !zs.decompress || !zs.is_error || !zs.error_name
      || zs.version () < 10300)
    {
      snprintf (zs_error, sizeof (zs_error), "libzstd.so.1 is too old or not libzstd (version %u)",
                zs.version ? zs.version () : 0);
      zs.decompress = NULL;
    }
}

struct bu_zstd
{
  void *ds;
  const char *err;
};

int
bu_zstd_new (struct bu_zstd **out, const char **why)
{
  struct bu_zstd *z;

  pthread_once (&zs_once, zs_load);
  if (zs.decompress == NULL)
    {
      *why = zs_error;
      return -1;
    }
  if ((z = calloc (1, sizeof (*z))) == NULL || (z->ds = zs.create ()) == NULL || zs.is_error (zs.init (z->ds)))
    {
      if (z && z->ds)
        zs.free (z->ds);
      free (z);
      *why = "out of memory";
      return -1;
    }
  *out = z;
  return 0;
}

int
bu_zstd_step (struct bu_zstd *z, unsigned char **next_in, size_t *avail_in, unsigned char **next_out,
              size_t *avail_out)
{
  zstd_in in = { *next_in, *avail_in, 0 };
  zstd_out out = { *next_out, *avail_out, 0 };
  size_t ret = zs.decompress (z->ds, &out, &in);

  *next_in += in.pos;
  *avail_in -= in.pos;
  *next_out += out.pos;
  *avail_out -= out.pos;
  if (zs.is_error (ret))
    {
      z->err = zs.error_name (ret);
      return BU_INFLATE_ERROR;
    }
  /* 0: a frame is decoded and flushed; the next call starts the next frame, if any. */
  return ret == 0 ? BU_INFLATE_MEMBER_END : BU_INFLATE_MORE;
}

const char *
bu_zstd_error (const struct bu_zstd *z)
{
  return z->err ? z->err : "corrupt data";
}

void
bu_zstd_free (struct bu_zstd *z)
{
  if (z == NULL)
    return;
  zs.free (z->ds);
  free (z);
}
