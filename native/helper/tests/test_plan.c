/* TAP tests for the launch plan parser. Each test returns 0 (ok), -1 (fail) or 77 (skip). */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "plan.h"

static unsigned char buf[8192];
static size_t len;

static void
start (void)
{
  memcpy (buf, PLAN_MAGIC, 8);
  len = 8;
}

static void
rec_raw (unsigned char *out, size_t *olen, const char *k, const void *v, size_t vlen)
{
  size_t kl = strlen (k);
  out[(*olen)++] = (unsigned char) (kl & 0xff);
  out[(*olen)++] = (unsigned char) (kl >> 8);
  memcpy (out + *olen, k, kl);
  *olen += kl;
  for (int i = 0; i < 4; i++)
    out[(*olen)++] = (unsigned char) (vlen >> (8 * i));
  memcpy (out + *olen, v, vlen);
  *olen += vlen;
}

static void
rec (const char *k, const char *v)
{
  rec_raw (buf, &len, k, v, strlen (v));
}

static void
minimal (void)
{
  start ();
  rec ("mode", "create");
  rec ("id", "c1");
  rec ("state_dir", "/run/berth/c1");
  rec ("rootfs", "/var/lib/c1/rootfs");
  rec ("cgroup_path", "berth/default/c1");
  rec ("arg", "sh");
}

static int
parse (struct plan *p, berth_error_t *err)
{
  return plan_parse (buf, len, p, err);
}

static int
test_minimal (void)
{
  struct plan p;
  berth_error_t err;
  minimal ();
  if (parse (&p, &err) < 0)
    return -1;
  int ok = strcmp (p.id, "c1") == 0 && p.n_args == 1 && p.args[1] == NULL && strcmp (p.cwd, "/") == 0
           && p.mem_limit == -1 && p.mode == PLAN_MODE_CREATE;
  plan_free (&p);
  return ok ? 0 : -1;
}

static int
test_nested_and_numbers (void)
{
  unsigned char n[512];
  size_t nl = 0;
  struct plan p;
  berth_error_t err;
  minimal ();
  rec_raw (n, &nl, "destination", "/proc", 5);
  rec_raw (n, &nl, "type", "proc", 4);
  rec_raw (n, &nl, "option", "nosuid", 6);
  rec_raw (n, &nl, "option", "noexec", 6);
  rec_raw (buf, &len, "mount", n, nl);
  nl = 0;
  rec_raw (n, &nl, "type", "pid", 3);
  rec_raw (buf, &len, "ns", n, nl);
  rec ("mem_limit", "16777216");
  rec ("cap_effective", "2818844155");
  rec ("oom_score_adj", "-500");
  if (parse (&p, &err) < 0)
    return -1;
  int ok = p.n_mounts == 1 && strcmp (p.mounts[0].source, "none") == 0 && p.mounts[0].n_options == 2
           && p.n_ns == 1 && p.ns[0].flag == CLONE_NEWPID && p.mem_limit == 16777216
           && p.caps[CAP_SET_EFFECTIVE] == 0xa80425fbULL && p.oom_score_adj == -500;
  plan_free (&p);
  return ok ? 0 : -1;
}

static int
expect_einval (void)
{
  struct plan p;
  berth_error_t err;
  if (parse (&p, &err) == 0)
    {
      plan_free (&p);
      return -1;
    }
  plan_free (&p);
  return err.status == 22 && strcmp (err.stage, "plan") == 0 ? 0 : -1;
}

static int
test_bad_magic (void)
{
  minimal ();
  buf[0] = 'X';
  return expect_einval ();
}

static int
test_truncated (void)
{
  minimal ();
  len -= 1;
  return expect_einval ();
}

static int
test_unknown_key (void)
{
  minimal ();
  rec ("seccomp", "x");
  return expect_einval ();
}

static int
test_nul_in_value (void)
{
  minimal ();
  rec_raw (buf, &len, "env", "A=b\0c", 5);
  return expect_einval ();
}

static int
test_relative_state_dir (void)
{
  minimal ();
  rec ("state_dir", "run/x");
  return expect_einval ();
}

static int
test_cgroup_escape (void)
{
  start ();
  rec ("id", "c1");
  rec ("state_dir", "/run/x");
  rec ("rootfs", "/r");
  rec ("arg", "sh");
  rec ("cgroup_path", "berth/../../etc");
  return expect_einval ();
}

static int
test_bad_number (void)
{
  minimal ();
  rec ("pids_limit", "12abc");
  return expect_einval ();
}

static int
test_oversized_length (void)
{
  minimal ();
  /* a value length pointing past the end of the buffer */
  unsigned char hdr[] = { 2, 0, 'i', 'd', 0xff, 0xff, 0xff, 0x7f };
  memcpy (buf + len, hdr, sizeof (hdr));
  len += sizeof (hdr);
  return expect_einval ();
}

static int
test_missing_args (void)
{
  start ();
  rec ("id", "c1");
  rec ("state_dir", "/run/x");
  rec ("mode", "exec");
  return expect_einval ();
}

static int
test_end_record (void)
{
  struct plan p;
  berth_error_t err;
  minimal ();
  rec ("end", "");
  if (parse (&p, &err) < 0)
    return -1;
  plan_free (&p);
  rec ("arg", "after-end"); /* nothing may follow `end` */
  return expect_einval ();
}

/* The helper must not wait for EOF once `end` has arrived (berthd keeps the connection open). */
static int
test_read_stops_at_end (void)
{
  struct timeval tv = { 2, 0 };
  struct plan p;
  berth_error_t err;
  int sv[2], r;
  minimal ();
  rec ("end", "");
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) < 0)
    return -1;
  (void) setsockopt (sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof (tv)); /* a hang fails instead */
  /* In two pieces, split inside a record, as a stream may deliver it. */
  if (write (sv[1], buf, len - 5) != (ssize_t) (len - 5) || write (sv[1], buf + len - 5, 5) != 5)
    return -1;
  r = plan_read_fd (sv[0], &p, &err);
  close (sv[0]);
  close (sv[1]);
  if (r < 0)
    return -1;
  r = p.n_args == 1 ? 0 : -1;
  plan_free (&p);
  return r;
}

/* A nested `seccomp` record: the filter is binary (NUL bytes included), flags decimal. */
static void
seccomp_rec (const void *filter, size_t flen, const char *flags)
{
  unsigned char n[256];
  size_t nl = 0;
  if (filter != NULL)
    rec_raw (n, &nl, "filter", filter, flen);
  if (flags != NULL)
    rec_raw (n, &nl, "flags", flags, strlen (flags));
  rec_raw (buf, &len, "seccomp", n, nl);
}

static const unsigned char FILTER[16] = { 0x20, 0, 0, 0, 4, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f };

static int
test_seccomp (void)
{
  struct plan p;
  berth_error_t err;
  minimal ();
  seccomp_rec (FILTER, sizeof (FILTER), "6");
  if (parse (&p, &err) < 0)
    return -1;
  int ok = p.seccomp_len == sizeof (FILTER) && memcmp (p.seccomp_filter, FILTER, sizeof (FILTER)) == 0
           && p.seccomp_flags == 6;
  plan_free (&p);
  minimal ();
  if (parse (&p, &err) < 0)
    return -1;
  ok = ok && p.seccomp_filter == NULL && p.seccomp_len == 0;
  plan_free (&p);
  return ok ? 0 : -1;
}

static int
test_seccomp_refused (void)
{
  unsigned char big[8];
  int fails = 0;
  memset (big, 0, sizeof (big));
  minimal (), seccomp_rec (FILTER, 12, NULL); /* not a whole number of instructions */
  fails += expect_einval () != 0;
  minimal (), seccomp_rec (FILTER, sizeof (FILTER), "8"); /* NEW_LISTENER */
  fails += expect_einval () != 0;
  minimal (), seccomp_rec (NULL, 0, "2"); /* no filter */
  fails += expect_einval () != 0;
  minimal (), seccomp_rec (FILTER, sizeof (FILTER), NULL), seccomp_rec (big, sizeof (big), NULL);
  fails += expect_einval () != 0;
  minimal ();
  {
    unsigned char n[64];
    size_t nl = 0;
    rec_raw (n, &nl, "filter", FILTER, sizeof (FILTER));
    rec_raw (n, &nl, "program", FILTER, sizeof (FILTER));
    rec_raw (buf, &len, "seccomp", n, nl);
  }
  fails += expect_einval () != 0;
  return fails ? -1 : 0;
}

/* `test_plan --decode`: parses a plan from stdin (as berthd encodes it) and prints what the
   helper read, for test/native/plan-decode.test.ts. */
static int
decode_stdin (void)
{
  struct plan p;
  berth_error_t err = { 0 };
  if (plan_read_fd (0, &p, &err) < 0)
    {
      printf ("error %s\n", err.msg);
      return 1;
    }
  printf ("id %s\nargs %zu\nno_new_privileges %d\nseccomp_flags %u\nseccomp ", p.id, p.n_args, p.no_new_privileges,
          p.seccomp_flags);
  for (size_t i = 0; i < p.seccomp_len; i++)
    printf ("%02x", p.seccomp_filter[i]);
  printf ("\n");
  plan_free (&p);
  return 0;
}

#define RUN_TEST(f)                                                                                          \
  do                                                                                                         \
    {                                                                                                        \
      int r = f ();                                                                                          \
      n++;                                                                                                   \
      if (r == 77)                                                                                           \
        printf ("ok %d - %s # SKIP\n", n, #f);                                                               \
      else if (r == 0)                                                                                       \
        printf ("ok %d - %s\n", n, #f);                                                                      \
      else                                                                                                   \
        printf ("not ok %d - %s\n", n, #f), failed++;                                                        \
    }                                                                                                        \
  while (0)

int
main (int argc, char **argv)
{
  int n = 0, failed = 0;
  if (argc > 1 && strcmp (argv[1], "--decode") == 0)
    return decode_stdin ();
  printf ("1..15\n");
  RUN_TEST (test_minimal);
  RUN_TEST (test_nested_and_numbers);
  RUN_TEST (test_bad_magic);
  RUN_TEST (test_truncated);
  RUN_TEST (test_unknown_key);
  RUN_TEST (test_nul_in_value);
  RUN_TEST (test_relative_state_dir);
  RUN_TEST (test_cgroup_escape);
  RUN_TEST (test_bad_number);
  RUN_TEST (test_oversized_length);
  RUN_TEST (test_missing_args);
  RUN_TEST (test_end_record);
  RUN_TEST (test_read_stops_at_end);
  RUN_TEST (test_seccomp);
  RUN_TEST (test_seccomp_refused);
  return failed ? 1 : 0;
}
