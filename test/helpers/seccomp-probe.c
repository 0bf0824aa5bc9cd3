/* Tries syscalls the way a program in a container would, and prints one line per syscall: its
 * name and "ok" or the errno's name. The arguments are chosen so that a call the filter lets
 * through fails in the kernel with something other than EPERM/ENOSYS (a bad pointer, flag or fd)
 * wherever the kernel checks that before privileges, so the verdict is the filter's. Each call
 * runs in a child of its own: a filter that kills, or an ABI the kernel lacks, shows as "signal N".
 * x86_64 only (raw numbers for syscalls newer than the build host's headers). Built static by the
 * tests (test/helpers/seccomp-probe.ts). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BAD ((long) 1) /* an address nothing is mapped at */

static const struct { int e; const char *n; } NAMES[] = {
  { EPERM, "EPERM" }, { ENOSYS, "ENOSYS" }, { EINVAL, "EINVAL" }, { EFAULT, "EFAULT" }, { EBADF, "EBADF" },
  { ESRCH, "ESRCH" }, { ENOKEY, "ENOKEY" }, { ENOENT, "ENOENT" }, { EAFNOSUPPORT, "EAFNOSUPPORT" },
  { EPROTONOSUPPORT, "EPROTONOSUPPORT" }, { EACCES, "EACCES" }, { EOPNOTSUPP, "EOPNOTSUPP" }, { ENOMEM, "ENOMEM" },
  { ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT" }, { ENOTTY, "ENOTTY" }, { E2BIG, "E2BIG" }, { EEXIST, "EEXIST" },
};

static long
int80 (long nr)
{
  long ret;
  __asm__ volatile ("int $0x80" : "=a" (ret) : "a" (nr) : "memory");
  return ret;
}

/* Runs one call in a child; the child reports the raw result through the pipe. */
static void
probe (const char *name, long nr, long a, long b, long c, long d, long e, long f, int via_int80)
{
  int p[2];
  long r[2] = { 0, 0 };
  pid_t pid;
  int status;
  if (pipe (p) < 0 || (pid = fork ()) < 0)
    {
      printf ("%s probe-failed\n", name);
      return;
    }
  if (pid == 0)
    {
      close (p[0]);
      if (via_int80)
        {
          long ret = int80 (nr);
          r[0] = ret < 0 ? -1 : ret, r[1] = ret < 0 ? -ret : 0;
        }
      else
        {
          errno = 0;
          r[0] = syscall (nr, a, b, c, d, e, f);
          r[1] = errno;
        }
      (void) !write (p[1], r, sizeof (r));
      _exit (0);
    }
  close (p[1]);
  ssize_t n = read (p[0], r, sizeof (r));
  close (p[0]);
  waitpid (pid, &status, 0);
  if (n != (ssize_t) sizeof (r))
    {
      printf ("%s signal%d\n", name, WIFSIGNALED (status) ? WTERMSIG (status) : 0);
      return;
    }
  if (r[0] >= 0)
    {
      printf ("%s ok\n", name);
      return;
    }
  for (size_t i = 0; i < sizeof (NAMES) / sizeof (NAMES[0]); i++)
    if (NAMES[i].e == r[1])
      {
        printf ("%s %s\n", name, NAMES[i].n);
        return;
      }
  printf ("%s errno%ld\n", name, r[1]);
}

#define P(name, nr, ...) probe (name, nr, __VA_ARGS__, 0)
#define ARGS0 0, 0, 0, 0, 0, 0
#define CLONE_NS_MASK 0x7e020000L /* CLONE_NEW{NS,UTS,IPC,USER,PID,NET,CGROUP} */

int
main (void)
{
  char line[256];
  FILE *st = fopen ("/proc/self/status", "r");
  while (st != NULL && fgets (line, sizeof (line), st) != NULL)
    if (strncmp (line, "Seccomp:", 8) == 0)
      printf ("Seccomp %s", line + 8 + strspn (line + 8, " \t"));
  setvbuf (stdout, NULL, _IOLBF, 0);

  P ("getpid", SYS_getpid, ARGS0);
  P ("read", SYS_read, -1, 0, 0, 0, 0, 0);
  P ("write", SYS_write, -1, 0, 0, 0, 0, 0);
  P ("openat", SYS_openat, AT_FDCWD, BAD, 0, 0, 0, 0);
  P ("close_range", 436, 5, 4, 0, 0, 0, 0);
  P ("uname", SYS_uname, 0, 0, 0, 0, 0, 0);
  P ("ioctl", SYS_ioctl, -1, 0, 0, 0, 0, 0);
  P ("mmap", SYS_mmap, 0, 0, 0, 0, -1, 0);
  P ("socket_inet", SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
  P ("socket_netlink_audit", SYS_socket, AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */, 0, 0, 0);
  P ("socket_alg", SYS_socket, 38 /* AF_ALG */, SOCK_SEQPACKET, 0, 0, 0, 0);
  P ("socket_vsock", SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0, 0, 0, 0);
  P ("personality_query", SYS_personality, 0xffffffffL, 0, 0, 0, 0, 0);
  P ("personality_bad", SYS_personality, 6 /* PER_BSD */, 0, 0, 0, 0, 0);
  P ("keyctl", SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, 0x7ffffff0, 0, 0, 0, 0);
  P ("add_key", SYS_add_key, BAD, BAD, 0, 0, -1, 0);
  P ("request_key", SYS_request_key, BAD, BAD, 0, 0, 0, 0);
  P ("unshare_0", SYS_unshare, 0, 0, 0, 0, 0, 0);
  P ("unshare_badflag", SYS_unshare, 1, 0, 0, 0, 0, 0);
  P ("mount", SYS_mount, BAD, BAD, BAD, 0, 0, 0);
  P ("umount2", SYS_umount2, BAD, 0x100, 0, 0, 0, 0);
  P ("userfaultfd", SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */ | 4, 0, 0, 0, 0, 0);
  P ("perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, -1L, 0);
  P ("bpf", SYS_bpf, 5 /* BPF_PROG_LOAD */, BAD, 8, 0, 0, 0);
  P ("clone3", 435, 0, 0, 0, 0, 0, 0);
  P ("clone_newns", SYS_clone, 0x00020000L /* NEWNS */ | 0x200L /* FS */, 0, 0, 0, 0, 0);
  P ("clone_thread_only", SYS_clone, 0x00010000L /* CLONE_THREAD without SIGHAND */, 0, 0, 0, 0, 0);
  P ("ptrace", SYS_ptrace, 0x7fff, 999999, 0, 0, 0, 0);
  P ("process_vm_readv", SYS_process_vm_readv, 999999, 0, 0, 0, 0, 1);
  P ("kcmp", SYS_kcmp, 999999, 999999, 0, 0, 0, 0);
  P ("io_uring_setup", 425, 0, 0, 0, 0, 0, 0);
  P ("iopl", SYS_iopl, 9, 0, 0, 0, 0, 0);
  P ("ioperm", SYS_ioperm, 0x10000, 1, 1, 0, 0, 0);
  P ("settimeofday", SYS_settimeofday, 0, BAD, 0, 0, 0, 0);
  P ("clock_settime", SYS_clock_settime, 0x7fff, BAD, 0, 0, 0, 0);
  P ("swapon", SYS_swapon, BAD, -1, 0, 0, 0, 0);
  P ("chroot", SYS_chroot, BAD, 0, 0, 0, 0, 0);
  P ("setns", SYS_setns, -1, 0, 0, 0, 0, 0);
  P ("name_to_handle_at", SYS_name_to_handle_at, -1, BAD, BAD, BAD, 0, 0);
  P ("get_mempolicy", SYS_get_mempolicy, 0, 0, 0, 0, -1, 0);
  P ("set_mempolicy", SYS_set_mempolicy, 0x7fff, 0, 0, 0, 0, 0);
  P ("mbind", SYS_mbind, 0, 0, 0x7fff, 0, 0, 0);
  P ("pkey_alloc", 330, -1, 0, 0, 0, 0, 0);
  P ("memfd_secret", 447, -1, 0, 0, 0, 0, 0);
  P ("landlock_create_ruleset", 444, 0, 0, -1, 0, 0, 0);
  P ("pidfd_getfd", 438, -1, 0, 0, 0, 0, 0);
  P ("process_madvise", 440, -1, 0, 0, 0, 0, 0);
  P ("openat2", 437, AT_FDCWD, BAD, 0, 0, 0, 0);
  P ("faccessat2", 439, -1, BAD, 0, -1, 0, 0);
  P ("mount_setattr", 442, -1, BAD, -1, 0, 0, 0);
  P ("futex_waitv", 449, 0, 0, -1, 0, 0, 0);
  P ("cachestat", 451, -1, 0, 0, -1, 0, 0);
  P ("fchmodat2", 452, -1, BAD, 0, -1, 0, 0);
  P ("map_shadow_stack", 453, 0, 0, -1, 0, 0, 0);
  P ("mseal", 462, 0, 0, -1, 0, 0, 0);
  P ("nr_400_hole", 400, ARGS0);
  P ("nr_1000", 1000, ARGS0);
  P ("acct", SYS_acct, BAD, 0, 0, 0, 0, 0);
  P ("sethostname", SYS_sethostname, BAD, 1, 0, 0, 0, 0);
  P ("fsopen", 430, BAD, 0, 0, 0, 0, 0);
  probe ("i386_getpid", 20, ARGS0, 1);
  probe ("i386_nr_1000", 1000, ARGS0, 1);
  P ("x32_getpid", 0x40000000L | 39, ARGS0);
  return 0;
}
