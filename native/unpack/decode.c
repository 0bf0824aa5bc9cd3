#include "decode.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"

/* 4 x 1 MiB in flight: enough for the extractor to never wait on a small file run, small enough
 * to stay in L2/L3 while it is copied into the page cache. */
#define NSLOTS 4
#define SLOT_SIZE (1u << 20)
#define IN_SIZE (256u << 10)
/* --follow: how often a growing file is polled, and how long it may stay still. */
#define FOLLOW_POLL_NS (4 * 1000 * 1000)
#define FOLLOW_STALL_S 10

struct decoder
{
  int fd;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* two threads: one condvar for both directions */
  unsigned char *slot[NSLOTS];
  size_t slen[NSLOTS];
  int full[NSLOTS];
  unsigned wi, ri;  /* the producer's next slot, the consumer's next slot */
  int held;         /* the consumer holds slot ri-1 */
  int out_done;     /* no more output will come (end of stream, failure or stop) */
  int stop;         /* the consumer wants no more output */
  int failed;       /* ferr holds the decoder's failure */
  bu_error_t ferr;
  int read_failed;  /* the input digest is unknown */
  const char *format;
  int hash_input;  /* 0: the caller trusts the blob (already verified): no input digest */
  uint64_t follow; /* > 0: fd is a file still being written; this many bytes will come */
  int passthrough; /* a plain tar whose input is hashed: the output digest is the input digest */
  struct bu_sha256 *ih, *oh;
  uint64_t isize, osize;
  unsigned char *next_in;
  size_t avail_in;
  int in_eof;
  struct bu_inflate *z;
  struct bu_zstd *zs;
  unsigned char in[IN_SIZE];
};

/* read(2), or with `follow`, a read that waits for a growing file until `follow` bytes came:
 * an unlinked (aborted ingest), shrunk (truncated) or stalled file is an error (EIO). */
static ssize_t
read_fd (struct decoder *d, unsigned char *buf, size_t cap)
{
  time_t still_since = 0;

  for (;;)
    {
      struct stat st;
      struct timespec ts = { 0, FOLLOW_POLL_NS };
      ssize_t n;

      do
        n = read (d->fd, buf, cap);
      while (n < 0 && errno == EINTR);
      if (n != 0 || d->follow == 0 || d->isize >= d->follow)
        return n;
      if (fstat (d->fd, &st) < 0)
        return -1;
      if (st.st_nlink == 0 || (uint64_t) st.st_size < d->isize)
        {
          errno = EIO;
          return -1;
        }
      if (still_since == 0)
        still_since = time (NULL);
      else if (time (NULL) - still_since > FOLLOW_STALL_S)
        {
          errno = ETIMEDOUT;
          return -1;
        }
      nanosleep (&ts, NULL);
    }
}

/* Reads once into d->in (after any unconsumed bytes are gone); hashes what it read. */
static int
read_input (struct decoder *d)
{
  ssize_t n = read_fd (d, d->in, IN_SIZE);

  if (n < 0)
    {
      d->read_failed = 1;
      return bu_sys (&d->ferr, errno, "read layer stream");
    }
  if (n == 0)
    d->in_eof = 1;
  else if (d->hash_input && bu_sha256_update (d->ih, d->in, (size_t) n) < 0)
    return bu_sys (&d->ferr, ENOMEM, "sha256");
  d->isize += (uint64_t) n;
  d->next_in = d->in;
  d->avail_in = (size_t) n;
  return 0;
}

/* A free output slot, or NULL once the consumer stopped. */
static unsigned char *
out_get (struct decoder *d)
{
  unsigned char *p;

  pthread_mutex_lock (&d->mu);
  while (d->full[d->wi % NSLOTS] && !d->stop)
    pthread_cond_wait (&d->cv, &d->mu);
  p = d->stop ? NULL : d->slot[d->wi % NSLOTS];
  pthread_mutex_unlock (&d->mu);
  return p;
}

static int
out_put (struct decoder *d, size_t len)
{
  unsigned i = d->wi % NSLOTS;

  if (len == 0)
    return 0;
  if (!d->passthrough && bu_sha256_update (d->oh, d->slot[i], len) < 0)
    return bu_sys (&d->ferr, ENOMEM, "sha256");
  d->osize += len;
  pthread_mutex_lock (&d->mu);
  d->slen[i] = len;
  d->full[i] = 1;
  d->wi++;
  pthread_cond_broadcast (&d->cv);
  pthread_mutex_unlock (&d->mu);
  return 0;
}

/* A plain tar: the bytes pass through (the pending sniffed bytes first). 1: stopped. */
static int
run_plain (struct decoder *d)
{
  for (;;)
    {
      unsigned char *out;
      size_t n = 0;

      if (d->avail_in == 0 && !d->in_eof && read_input (d) < 0)
        return -1;
      if (d->avail_in == 0)
        return 0;
      if ((out = out_get (d)) == NULL)
        return 1;
      while (d->avail_in > 0 && n < SLOT_SIZE)
        {
          size_t k = d->avail_in < SLOT_SIZE - n ? d->avail_in : SLOT_SIZE - n;
          memcpy (out + n, d->next_in, k);
          n += k;
          d->next_in += k;
          d->avail_in -= k;
          if (d->avail_in == 0 && n < SLOT_SIZE && !d->in_eof && read_input (d) < 0)
            return -1;
        }
      if (out_put (d, n) < 0)
        return -1;
    }
}

/* One step of the stream's decompressor (gzip or zstd), with codec.h's return values. */
static int
codec_step (struct decoder *d, unsigned char **next_in, size_t *avail_in, unsigned char **next_out, size_t *avail_out)
{
  if (d->zs)
    return bu_zstd_step (d->zs, next_in, avail_in, next_out, avail_out);
  return bu_inflate_step (d->z, next_in, avail_in, next_out, avail_out);
}

/* gzip members or zstd frames, one or more back to back (as Go's readers and `zstd -d` read
 * them). 1: stopped. */
static int
decompress_members (struct decoder *d, unsigned char **outp, size_t *usedp)
{
  const char *why;
  int ret;

  if (d->zs == NULL && d->z == NULL)
    {
      int zstd = strcmp (d->format, "zstd") == 0;
      if ((zstd ? bu_zstd_new (&d->zs, &why) : bu_inflate_new (&d->z, &why)) < 0)
        {
          /* Out of memory, or no libz.so.1 / libzstd.so.1: the host's fault, not the layer's. */
          bu_sys (&d->ferr, 0, "%s: %s", d->format, why);
          d->ferr.invalid = 0;
          return -1;
        }
    }
  for (;;)
    {
      unsigned char *next_out;
      size_t avail_out;

      if (*outp == NULL)
        {
          if ((*outp = out_get (d)) == NULL)
            return 1;
          *usedp = 0;
        }
      if (d->avail_in == 0 && !d->in_eof && read_input (d) < 0)
        return -1;
      next_out = *outp + *usedp;
      avail_out = SLOT_SIZE - *usedp;
      ret = codec_step (d, &d->next_in, &d->avail_in, &next_out, &avail_out);
      *usedp = (size_t) (next_out - *outp);
      if (ret < 0)
        return bu_invalid (&d->ferr, 0, "%s: %s at input offset %llu", d->format,
                           d->zs ? bu_zstd_error (d->zs) : bu_inflate_error (d->z),
                           (unsigned long long) (d->isize - d->avail_in));
      if (*usedp == SLOT_SIZE)
        {
          if (out_put (d, *usedp) < 0)
            return -1;
          *outp = NULL;
        }
      if (ret == BU_INFLATE_MEMBER_END)
        {
          if (d->avail_in == 0 && !d->in_eof && read_input (d) < 0)
            return -1;
          if (d->avail_in == 0 && d->in_eof)
            return 0;
          /* Another member follows: its header is checked like the first (zstd goes on by itself). */
          if (d->z && bu_inflate_reset (d->z) < 0)
            return bu_sys (&d->ferr, ENOMEM, "gzip: inflate reset");
          continue;
        }
      if (d->avail_in == 0 && d->in_eof && *outp != NULL)
        return bu_invalid (&d->ferr, 0, "%s: unexpected end of data after %llu bytes", d->format,
                           (unsigned long long) d->isize);
    }
}

static int
run_compressed (struct decoder *d)
{
  unsigned char *out = NULL;
  size_t used = 0;
  int rc = decompress_members (d, &out, &used);

  /* What was decompressed before a failure is delivered first, so errors come in stream order. */
  if (rc != 1 && out != NULL && out_put (d, used) < 0)
    return -1;
  return rc;
}

static void
finish_hex (struct bu_sha256 *h, char *dst)
{
  unsigned char md[32];
  unsigned i;

  if (bu_sha256_final (h, md) < 0)
    {
      dst[0] = 0;
      return;
    }
  memcpy (dst, "sha256:", 7);
  for (i = 0; i < 32; i++)
    snprintf (dst + 7 + 2 * i, 3, "%02x", md[i]);
}

static void *
producer (void *arg)
{
  struct decoder *d = arg;
  int rc = 0;

  /* Sniff from the first 4 bytes (short pipe reads are possible). */
  while (rc == 0 && !d->in_eof && d->avail_in < 4)
    {
      size_t have = d->avail_in;
      ssize_t n;
      if (have > 0)
        memmove (d->in, d->next_in, have);
      n = read_fd (d, d->in + have, IN_SIZE - have);
      if (n < 0)
        {
          d->read_failed = 1;
          rc = bu_sys (&d->ferr, errno, "read layer stream");
          break;
        }
      if (n == 0)
        d->in_eof = 1;
      else if (d->hash_input && bu_sha256_update (d->ih, d->in + have, (size_t) n) < 0)
        rc = bu_sys (&d->ferr, ENOMEM, "sha256");
      d->isize += (uint64_t) n;
      d->next_in = d->in;
      d->avail_in = have + (size_t) n;
    }
  if (rc == 0)
    {
      const unsigned char *p = d->next_in;
      if (d->avail_in >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        d->format = "gzip", rc = run_compressed (d);
      else if (d->avail_in >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
        d->format = "zstd", rc = run_compressed (d);
      else
        d->passthrough = d->hash_input, rc = run_plain (d);
    }
  pthread_mutex_lock (&d->mu);
  d->failed = rc < 0;
  d->out_done = 1;
  pthread_cond_broadcast (&d->cv);
  pthread_mutex_unlock (&d->mu);
  /* After a failure or a stop, keep hashing the input to EOF: the caller compares the blob's
   * digest, and a corrupted blob must read as a digest mismatch, not as a gzip error. */
  while (!d->in_eof && !d->read_failed)
    if (read_input (d) < 0)
      break;
  return NULL;
}

int
decoder_start (struct decoder **out, int fd, int hash_input, uint64_t follow, bu_error_t *err)
{
  struct decoder *d = calloc (1, sizeof (*d));
  int i, rc;

  if (d == NULL)
    return bu_sys (err, ENOMEM, "decoder");
  d->fd = fd;
  d->hash_input = hash_input;
  d->follow = follow;
  d->format = "tar";
  pthread_mutex_init (&d->mu, NULL);
  pthread_cond_init (&d->cv, NULL);
  d->ih = bu_sha256_new ();
  d->oh = bu_sha256_new ();
  for (i = 0; i < NSLOTS; i++)
    d->slot[i] = malloc (SLOT_SIZE);
  for (i = 0; i < NSLOTS; i++)
    if (d->slot[i] == NULL)
      break;
  if (i < NSLOTS || d->ih == NULL || d->oh == NULL)
    {
      struct decode_result r;
      decoder_finish (d, &r, 1, err);
      return bu_sys (err, ENOMEM, "decoder");
    }
  /* Larger pipe reads: fewer wakeups (fails harmlessly when fd is not a pipe). */
  (void) fcntl (fd, F_SETPIPE_SZ, 1 << 20);
  rc = pthread_create (&d->thread, NULL, producer, d);
  if (rc != 0)
    {
      struct decode_result r;
      d->thread = 0;
      decoder_finish (d, &r, 1, err);
      return bu_sys (err, rc, "decoder thread");
    }
  *out = d;
  return 0;
}

int
decoder_next (struct decoder *d, unsigned char **buf, size_t *len, bu_error_t *err)
{
  int rc = 0;

  pthread_mutex_lock (&d->mu);
  if (d->held)
    {
      d->full[(d->ri - 1) % NSLOTS] = 0;
      d->held = 0;
      pthread_cond_broadcast (&d->cv);
    }
  while (!d->full[d->ri % NSLOTS] && !d->out_done)
    pthread_cond_wait (&d->cv, &d->mu);
  if (d->full[d->ri % NSLOTS])
    {
      *buf = d->slot[d->ri % NSLOTS];
      *len = d->slen[d->ri % NSLOTS];
      d->ri++;
      d->held = 1;
    }
  else if (d->failed)
    {
      *err = d->ferr;
      rc = -1;
    }
  else
    *len = 0;
  pthread_mutex_unlock (&d->mu);
  return rc;
}

int
decoder_finish (struct decoder *d, struct decode_result *res, int had_error, bu_error_t *err)
{
  int i, rc = 0;

  pthread_mutex_lock (&d->mu);
  d->stop = 1;
  pthread_cond_broadcast (&d->cv);
  pthread_mutex_unlock (&d->mu);
  if (d->thread)
    pthread_join (d->thread, NULL);
  memset (res, 0, sizeof (*res));
  res->format = d->format;
  res->input_size = d->isize;
  res->size = d->osize;
  if (d->ih && d->hash_input && !d->read_failed && d->in_eof)
    finish_hex (d->ih, res->input_digest);
  if (d->passthrough && !d->failed)
    memcpy (res->digest, res->input_digest, sizeof (res->digest));
  else if (d->oh && !d->failed)
    finish_hex (d->oh, res->digest);
  if (d->failed && !had_error)
    {
      *err = d->ferr;
      rc = -1;
    }
  bu_sha256_free (d->ih);
  bu_sha256_free (d->oh);
  bu_inflate_free (d->z);
  bu_zstd_free (d->zs);
  for (i = 0; i < NSLOTS; i++)
    free (d->slot[i]);
  pthread_mutex_destroy (&d->mu);
  pthread_cond_destroy (&d->cv);
  free (d);
  return rc;
}
