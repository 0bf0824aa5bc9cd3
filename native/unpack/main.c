/* berth-unpack: applies one layer (gzip, zstd or plain tar) read from stdin. See PROTOCOL.md.
 *
 *   berth-unpack [--input FILE [--no-input-digest] [--follow SIZE]] [--min-free BYTES] [--overlay [--parent LOWERDIR]...] ROOT
 *   berth-unpack [--input FILE [--no-input-digest] [--follow SIZE]] [--min-free BYTES] --mount TYPE SOURCE [--option OPT]... --tmpdir DIR
 *   berth-unpack --topdir DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "apply.h"
#include "decode.h"
#include "mount.h"
#include "reader.h"
#include "tar.h"

#define EXIT_INVALID 1
#define EXIT_INTERNAL 2
#define EXIT_USAGE 64
#define MAX_OPTIONS 256

static struct reader R; /* 1 MiB buffer: static, not on the stack */
static struct applier A; /* the one applier of this process (emit reports its counters) */
static char input_file[48]; /* --input's "dev:ino" (fstat of the open file), for the done line */

/* The one function that writes protocol lines: {"type":..,...}\n on stdout. */
static void
emit (const char *type, const char *kind, int status, const char *msg, unsigned long long entries,
      const struct decode_result *res)
{
  char line[4 * BU_MSG_MAX + 256];
  size_t o = 0;
  const char *p;

  o += (size_t) snprintf (line + o, sizeof (line) - o, "{\"type\":\"%s\"", type);
  if (kind)
    o += (size_t) snprintf (line + o, sizeof (line) - o, ",\"kind\":\"%s\",\"errno\":%d", kind, status);
  if (strcmp (type, "done") == 0)
    {
      o += (size_t) snprintf (line + o, sizeof (line) - o, ",\"entries\":%llu,\"whiteouts\":%llu,\"implicit_dirs\":%llu",
                              entries, (unsigned long long) A.whiteouts, (unsigned long long) bu_implicit_dirs);
      if (input_file[0])
        o += (size_t) snprintf (line + o, sizeof (line) - o, ",\"input_file\":\"%s\"", input_file);
    }
  if (res != NULL)
    {
      o += (size_t) snprintf (line + o, sizeof (line) - o, ",\"format\":\"%s\",\"input_size\":%llu",
                              res->format, (unsigned long long) res->input_size);
      if (res->input_digest[0])
        o += (size_t) snprintf (line + o, sizeof (line) - o, ",\"input_digest\":\"%s\"", res->input_digest);
      if (res->digest[0])
        o += (size_t) snprintf (line + o, sizeof (line) - o, ",\"digest\":\"%s\",\"size\":%llu", res->digest,
                                (unsigned long long) res->size);
    }
  if (msg)
    {
      o += (size_t) snprintf (line + o, sizeof (line) - o, ",\"msg\":\"");
      for (p = msg; *p && o + 8 < sizeof (line); p++)
        {
          unsigned char c = (unsigned char) *p;
          if (c == '"' || c == '\\')
            {
              line[o++] = '\\';
              line[o++] = (char) c;
            }
          else if (c < 0x20 || c >= 0x7f)
            o += (size_t) snprintf (line + o, sizeof (line) - o, "\\u%04x", c);
          else
            line[o++] = (char) c;
        }
      line[o++] = '"';
    }
  line[o++] = '}';
  line[o++] = '\n';
  write_all (1, line, o);
}

void
emit_warning (const char *fmt, ...)
{
  char msg[BU_MSG_MAX];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof (msg), fmt, ap);
  va_end (ap);
  emit ("warning", NULL, 0, msg, 0, NULL);
}

static int
fail_with (bu_error_t *err, const struct decode_result *res)
{
  emit ("error", err->invalid ? "invalid" : "internal", err->status, err->msg, 0, res);
  return err->invalid ? EXIT_INVALID : EXIT_INTERNAL;
}

static int
fail (bu_error_t *err)
{
  return fail_with (err, NULL);
}

static int
usage (const char *msg)
{
  emit ("error", "usage", EINVAL, msg, 0, NULL);
  return EXIT_USAGE;
}

/* Applies stdin under root; reports (done or error) and returns the exit status. The decoder
 * thread inflates and hashes while this thread creates the files. */
static int
run (const char *root, int overlay, const struct parents *parents, int input, int hash_input, uint64_t follow,
     uint64_t min_free, bu_error_t *err)
{
  struct applier *a = &A;
  struct tar_entry e;
  struct decode_result res;
  int rc;

  if (applier_init (a, root, overlay, err) < 0)
    return fail (err);
  if (parents)
    a->parents = *parents;
  a->min_free = min_free;
  R.fd = input;
  if (decoder_start (&R.dec, input, hash_input, follow, err) < 0)
    {
      applier_free (a);
      return fail (err);
    }
  for (;;)
    {
      rc = tar_next (&R, &e, err);
      if (rc <= 0)
        break;
      rc = apply_entry (a, &e, &R, err);
      tar_entry_free (&e);
      if (rc < 0)
        break;
    }
  if (rc == 0)
    rc = apply_finish (a, err);
  /* Read to EOF: the digests cover the whole stream, trailing padding included. */
  if (rc == 0)
    rc = rd_drain (&R, err);
  if (decoder_finish (R.dec, &res, rc < 0, err) < 0)
    rc = -1;
  R.dec = NULL;
  applier_free (a);
  if (rc < 0)
    return fail_with (err, &res);
  emit ("done", NULL, 0, NULL, a->entries, &res);
  return 0;
}

/* --topdir DIR: marks DIR as the top of directory hierarchies (FS_TOPDIR_FL, `chattr +T`), so
 * ext4's Orlov allocator spreads DIR's subdirectories (one per staged layer) over block groups
 * instead of packing them near DIR. On ext4 without a journal a new inode skips every inode of
 * its group deleted in the last minute, one buffer lookup each: extracting a layer next to the
 * trees of just-removed images costs O(files x deleted). Filesystems without the flag refuse it. */
static int
mark_topdir (const char *dir)
{
  bu_error_t err;
  int fd, flags = 0;

  memset (&err, 0, sizeof (err));
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    bu_sys (&err, errno, "open `%s`", dir);
  else if (ioctl (fd, FS_IOC_GETFLAGS, &flags) < 0)
    bu_sys (&err, errno, "get flags of `%s`", dir);
  else if (!(flags & FS_TOPDIR_FL) && (flags |= FS_TOPDIR_FL, ioctl (fd, FS_IOC_SETFLAGS, &flags) < 0))
    bu_sys (&err, errno, "set the topdir flag on `%s`", dir);
  if (fd >= 0)
    close (fd);
  if (err.msg[0])
    {
      err.invalid = 0; /* a host-side refusal, not a bad archive */
      return fail (&err);
    }
  emit ("done", NULL, 0, NULL, 0, NULL);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *mtype = NULL, *msource = NULL, *tmpdir = NULL, *root = NULL, *input_path = NULL;
  int input = 0, hash_input = 1;
  uint64_t follow = 0, min_free = 0;
  char *options[MAX_OPTIONS];
  int parentfds[MAX_OPTIONS];
  struct parents parents = { parentfds, 0 };
  int noptions = 0, overlay = 0, i, rc;
  char mnt[4096];
  bu_error_t err;

  memset (&err, 0, sizeof (err));
  signal (SIGPIPE, SIG_IGN);
  umask (0);
  if (argc == 3 && strcmp (argv[1], "--topdir") == 0)
    return mark_topdir (argv[2]);
  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--overlay") == 0)
        overlay = 1;
      else if (strcmp (argv[i], "--mount") == 0 && i + 2 < argc)
        {
          mtype = argv[++i];
          msource = argv[++i];
        }
      else if (strcmp (argv[i], "--option") == 0 && i + 1 < argc)
        {
          if (noptions == MAX_OPTIONS)
            return usage ("too many --option");
          options[noptions++] = argv[++i];
        }
      else if (strcmp (argv[i], "--parent") == 0 && i + 1 < argc)
        {
          int fd;
          if (parents.n == MAX_OPTIONS)
            return usage ("too many --parent");
          fd = open (argv[++i], O_PATH | O_DIRECTORY | O_CLOEXEC);
          if (fd >= 0) /* a vanished lower only loses attribute copying */
            parentfds[parents.n++] = fd;
        }
      else if (strcmp (argv[i], "--input") == 0 && i + 1 < argc)
        input_path = argv[++i];
      else if (strcmp (argv[i], "--no-input-digest") == 0)
        hash_input = 0;
      else if (strcmp (argv[i], "--follow") == 0 && i + 1 < argc)
        follow = strtoull (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--min-free") == 0 && i + 1 < argc)
        min_free = strtoull (argv[++i], NULL, 10);
      else if (strcmp (argv[i], "--tmpdir") == 0 && i + 1 < argc)
        tmpdir = argv[++i];
      else if (argv[i][0] != '-' && root == NULL)
        root = argv[i];
      else
        return usage ("usage: berth-unpack [--input BLOB] [--overlay] ROOT | [--input BLOB] --mount TYPE SOURCE [--option OPT]... --tmpdir DIR");
    }
  if (input_path != NULL)
    {
      /* The blob itself (a committed, read-only content file): no pipe through Node. */
      input = open (input_path, O_RDONLY | O_CLOEXEC);
      if (input < 0)
        {
          bu_sys (&err, errno, "open input `%s`", input_path);
          err.invalid = 0;
          return fail (&err);
        }
      (void) posix_fadvise (input, 0, 0, POSIX_FADV_SEQUENTIAL);
      /* Which file this is: the caller of an unhashed --follow read matches it with the writer's. */
      {
        struct stat st;
        if (fstat (input, &st) == 0)
          snprintf (input_file, sizeof (input_file), "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
      }
    }
  if (mtype != NULL)
    {
      if (root != NULL || tmpdir == NULL || overlay)
        return usage ("--mount needs --tmpdir and no ROOT");
      if (mount_private (mtype, msource, options, noptions, tmpdir, mnt, sizeof (mnt), &err) < 0)
        return fail (&err);
      rc = run (mnt, 0, NULL, input, hash_input, follow, min_free, &err);
      unmount_private (mnt);
      return rc;
    }
  if (root == NULL)
    return usage ("missing ROOT");
  return run (root, overlay, &parents, input, hash_input, follow, min_free, &err);
}
