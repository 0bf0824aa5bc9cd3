/* The child: becomes the container process. Runs between clone() and execve(),
 * reports every failure to the helper with its stage, and never returns. */
#include "caps.h"
#include "helper.h"
#include "mount.h"
#include "ns.h"
#include "seccomp.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(stage)                                                                                          \
  do                                                                                                         \
    {                                                                                                        \
      berth_error_stage (&err, stage);                                                                       \
      isync_fail (sock, &err);                                                                               \
    }                                                                                                        \
  while (0)

static void
reset_signals (void)
{
  sigset_t all;
  sigemptyset (&all);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal (s, SIG_DFL);
  sigprocmask (SIG_SETMASK, &all, NULL);
}

static int
setup_process (const struct plan *p, berth_error_t *err)
{
  char path[4096], val[32];
  for (size_t i = 0; i < p->n_sysctls; i++)
    {
      snprintf (path, sizeof (path), "/proc/sys/%s", p->sysctls[i].key);
      for (char *c = path + 10; *c; c++)
        if (*c == '.')
          *c = '/';
      if (write_file (path, p->sysctls[i].value) < 0)
        return berth_error (err, errno, "sysctl %s", p->sysctls[i].key);
    }
  for (size_t i = 0; i < p->n_rlimits; i++)
    {
      struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
      if (setrlimit ((__rlimit_resource_t) p->rlimits[i].type, &rl) < 0)
        return berth_error (err, errno, "setrlimit %d", p->rlimits[i].type);
    }
  snprintf (val, sizeof (val), "%d", p->oom_score_adj);
  if (p->has_oom_score_adj && write_file ("/proc/self/oom_score_adj", val) < 0)
    return berth_error (err, errno, "oom_score_adj");
  return 0;
}

/* Creates a missing working directory inside the container, as runc and Docker do (root-owned,
   0755; an overlay copies its parents up with their attributes). */
static void
make_cwd (const char *cwd)
{
  char path[4096];
  snprintf (path, sizeof (path), "%s", cwd);
  for (char *s = path + 1; *s; s++)
    if (*s == '/')
      {
        *s = '\0';
        (void) mkdir (path, 0755);
        *s = '/';
      }
  (void) mkdir (path, 0755);
}

static int
verify_cwd (const struct plan *p, berth_error_t *err)
{
  char buf[4096];
  if (chdir (p->cwd) < 0 && errno == ENOENT && p->mode == PLAN_MODE_CREATE)
    make_cwd (p->cwd);
  if (chdir (p->cwd) < 0)
    return berth_error (err, errno, "chdir `%s`", p->cwd);
  /* CVE-2024-21626: a cwd reached through a leaked host fd is not below our root. */
  if (syscall (SYS_getcwd, buf, sizeof (buf)) < 0 || buf[0] != '/')
    return berth_error (err, errno ? errno : EPERM, "cwd `%s` is outside the container", p->cwd);
  return 0;
}

void
child_main (struct helper *h)
{
  struct plan *p = h->plan;
  berth_error_t err = { 0 };
  struct isync_msg m;
  int sock = h->isync[1], passfd, rootfd = -1, slave = -1, master = -1;

  /* CVE-2019-5736: nothing in the container may open us through /proc before exec. */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  reset_signals ();
  close (h->isync[0]);
  if (isync_recv (sock, &m, &passfd) <= 0 || m.type != ISYNC_GO)
    _exit (1);
  if (passfd >= 0)
    h->rootfs_mnt = passfd; /* an idmapped rootfs, made once our user namespace was mapped */
  /* Still in the host's namespaces (but the mount one, a copy), before anything runs. */
  if (h->self_attach && cgroup_attach_self (&h->cg, &err) < 0)
    FAIL ("cgroup");

  if (ns_join (p, h->new_ns_flags & CLONE_NEWUSER ? CLONE_NEWNET : 0, &err) < 0)
    FAIL ("ns");
  if ((h->new_ns_flags & CLONE_NEWUSER) && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    {
      berth_error (&err, errno, "become root in the user namespace");
      FAIL ("ns");
    }
  if ((h->new_ns_flags & CLONE_NEWCGROUP) && unshare (CLONE_NEWCGROUP) < 0)
    {
      berth_error (&err, errno, "unshare cgroup namespace");
      FAIL ("ns");
    }
  for (int i = 0; i < 3 && !p->terminal; i++)
      {
        int fd = h->io.child[i] >= 0 ? h->io.child[i] : open ("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0 || dup2 (fd, i) < 0)
          {
            berth_error (&err, errno, "stdio %d", i);
            FAIL ("stdio");
          }
      }

  if (p->mode == PLAN_MODE_CREATE)
    {
      if ((h->rootfs_mnt >= 0 ? mount_attach_rootfs (p, h->rootfs_mnt, &rootfd, &err) : mount_rootfs (p, &rootfd, &err)) < 0
          || mount_spec (p, rootfd, &h->cg, h->new_ns_flags & CLONE_NEWCGROUP, &err) < 0
          || mount_devices (p, rootfd, &err) < 0)
        FAIL ("mount");
      if (p->terminal && (master = mount_console (p, rootfd, &slave, &err)) < 0)
        FAIL ("console");
      if (ns_set_names (p, &err) < 0)
        FAIL ("ns");
      if (mount_pivot (p, rootfd, &err) < 0)
        FAIL ("mount");
      close (rootfd);
      if ((rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || setup_process (p, &err) < 0)
        FAIL ("process");
      if (mount_masked_readonly (p, rootfd, &err) < 0 || mount_finish_rootfs (p, &err) < 0)
        FAIL ("mount");
    }
  else
    {
      if ((rootfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        FAIL ("mount");
      if (p->terminal && (master = mount_console (p, rootfd, &slave, &err)) < 0)
        FAIL ("console");
      if (setup_process (p, &err) < 0)
        FAIL ("process");
    }
  close (rootfd);
  umask (p->has_umask ? p->umask : 022);
  if (setsid () < 0)
    {
      berth_error (&err, errno, "setsid");
      FAIL ("process");
    }
  if (p->terminal)
    {
      if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0 || ioctl (0, TIOCSCTTY, 0) < 0)
        {
          berth_error (&err, errno, "console: set controlling terminal");
          FAIL ("console");
        }
      close (slave);
    }
  if (isync_send (sock, ISYNC_READY, NULL, master) < 0)
    _exit (1);
  if (master >= 0)
    close (master);

  /* The rest before exec is done while berthd answers Tasks/Create and ctr asks for Tasks/Start,
     instead of after `start`; a failure is still reported when `start` comes (stage as before).
     CVE-2024-21626: no inherited fd may survive; the sync socket is close-on-exec. */
  const char *late = NULL;
  if ((sock > 3 && syscall (SYS_close_range, 3, sock - 1, 0) < 0) || syscall (SYS_close_range, sock + 1, ~0U, 0) < 0)
    late = "exec", berth_error (&err, errno, "close inherited fds");
  else if (verify_cwd (p, &err) < 0)
    late = "cwd";
  /* Without no_new_privs loading a filter needs CAP_SYS_ADMIN: load it before the capabilities go,
     so what follows (set*id, capset, recvmsg, execve) must pass it, as with runc and crun. */
  else if (!p->no_new_privileges && seccomp_apply (p, &err) < 0)
    late = "seccomp";
  else if (caps_apply (p, h->last_cap, &err) < 0)
    late = "caps";
  if (isync_recv (sock, &m, &passfd) <= 0 || m.type != ISYNC_START)
    _exit (1);
  if (late != NULL)
    FAIL (late);
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  /* With no_new_privs (set by caps_apply): the filter as late as can be, only execve follows. */
  if (p->no_new_privileges && seccomp_apply (p, &err) < 0)
    FAIL ("seccomp");
  exec_process (p, &err);
  FAIL ("exec");
}
