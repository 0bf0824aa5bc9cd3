/* berth-helper: reads a launch plan on fd 3, reports on fd 4 (NDJSON), creates the
 * container process, execs it on "start", then stays as its monitor. PROTOCOL.md. */
#include "helper.h"
#include "mount.h"
#include "init.h"
#include "launcher.h"
#include "ns.h"
#include "seccomp.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct helper H = { .child = -1, .mnt_ns = -1 };

/* How long a helper waits for its plan before it makes namespaces ahead (ns_premake). */
#define SPARE_IDLE_MS 10

static void
abort_child (struct helper *h)
{
  if (h->child > 0)
    {
      kill (h->child, SIGKILL);
      while (waitpid (h->child, NULL, 0) < 0 && errno == EINTR)
        ;
      h->child = -1;
    }
  if (h->owns_cgroup)
    cgroup_destroy (&h->cg, h->plan->cgroup_keep);
}

static void __attribute__ ((noreturn))
fail (struct helper *h, berth_error_t *err, const char *stage)
{
  berth_error_stage (err, stage);
  (void) sync_write_msg (h->sync_fd, "error", -1, err);
  abort_child (h);
  _exit (1);
}

/* Turns a child's ERROR record back into an error and fails. */
static void __attribute__ ((noreturn))
fail_from_child (struct helper *h, const struct isync_msg *m)
{
  static char stage[16];
  berth_error_t err = { 0 };
  snprintf (stage, sizeof (stage), "%s", m->stage);
  snprintf (err.msg, sizeof (err.msg), "%s", m->msg);
  err.status = m->status;
  err.stage = stage;
  fail (h, &err, stage);
}

static unsigned
read_last_cap (void)
{
  char buf[32];
  if (read_small_file ("/proc/sys/kernel/cap_last_cap", buf, sizeof (buf)) < 0)
    return 40;
  return (unsigned) strtoul (buf, NULL, 10);
}

static void
prepare (struct helper *h)
{
  struct plan *p = h->plan;
  berth_error_t err = { 0 };

  if (h->last_cap == 0)
    h->last_cap = read_last_cap ();
  if (mkdir (p->state_dir, 0700) < 0 && errno != EEXIST)
    berth_error (&err, errno, "state dir `%s`", p->state_dir), fail (h, &err, "state");
  if (chmod (p->state_dir, 0700) < 0)
    berth_error (&err, errno, "chmod state dir `%s`", p->state_dir), fail (h, &err, "state");
  if (p->cgroup_path != NULL)
    {
      if (cgroup_resolve (&h->cg, p->cgroup_path, &err) < 0)
        fail (h, &err, "cgroup");
      h->has_cgroup = 1;
      if (p->mode == PLAN_MODE_CREATE && !p->cgroup_join)
        {
          h->owns_cgroup = 1;
          if (cgroup_create (&h->cg, &err) < 0 || cgroup_apply (&h->cg, p, &err) < 0)
            fail (h, &err, "cgroup");
        }
    }
  if (stdio_prepare (h, &err) < 0)
    fail (h, &err, "stdio");
  if (ns_join_pid (p, &err) < 0)
    fail (h, &err, "ns");
}

/* A new user namespace: the rootfs is built here, with the host's credentials, as a detached
   mount, and the child is cloned with its cwd in the rootfs dir (mount_detached.c). Returns the
   fd of the cwd to go back to, or -1. */
static int
prepare_userns_rootfs (struct helper *h)
{
  berth_error_t err = { 0 };
  int cwd;
  h->rootfs_mnt = -1;
  if (!(h->new_ns_flags & CLONE_NEWUSER))
    return -1;
  /* An idmapped rootfs needs the child's user namespace: it is made after clone (spawn). */
  if (!h->plan->rootfs_idmap && (h->rootfs_mnt = mount_detached_rootfs (h->plan, &err)) < 0)
    fail (h, &err, "mount");
  if ((cwd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || chdir (h->plan->rootfs) < 0)
    berth_error (&err, errno, "chdir rootfs `%s`", h->plan->rootfs), fail (h, &err, "mount");
  return cwd;
}

static void
spawn (struct helper *h)
{
  berth_error_t err = { 0 };
  char buf[32];
  int cwd, rootfs = -1;
  h->new_ns_flags = h->plan->mode == PLAN_MODE_CREATE ? ns_new_flags (h->plan) : 0;
  /* A new user namespace must own the others: those are cloned with it, never premade. */
  if (ns_settle_premade (&h->premade, h->new_ns_flags & CLONE_NEWUSER ? 0 : h->new_ns_flags, &err) < 0)
    fail (h, &err, "ns");
  if (h->plan->rootfs_idmap && !(h->new_ns_flags & CLONE_NEWUSER))
    berth_error (&err, EINVAL, "rootfs_idmap needs a new user namespace"), fail (h, &err, "plan");
  if ((h->new_ns_flags & CLONE_NEWUSER) && ns_join_net (h->plan, &err) < 0)
    fail (h, &err, "ns");
  cwd = prepare_userns_rootfs (h);
  if (mount_detach_binds (h->plan, (h->new_ns_flags & CLONE_NEWUSER) != 0, &err) < 0)
    fail (h, &err, "mount");
  /* A child in a new user namespace has no say over the host's cgroupfs: the parent moves it. */
  h->self_attach = h->has_cgroup && !h->cg.v2 && !(h->new_ns_flags & CLONE_NEWUSER);
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, h->isync) < 0)
    berth_error (&err, errno, "socketpair"), fail (h, &err, "ns");
  /* The cgroup namespace is entered by the child once it sits in its cgroup. */
  long pid = syscall (SYS_clone, (unsigned long) (h->new_ns_flags & ~CLONE_NEWCGROUP & ~h->premade.flags) | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0)
    berth_error (&err, errno, "clone"), fail (h, &err, "ns");
  if (pid == 0)
    child_main (h);
  h->child = (pid_t) pid;
  if (cwd >= 0)
    (void) fchdir (cwd), close (cwd), close (h->rootfs_mnt), h->rootfs_mnt = -1;
  mount_close_detached_binds (h->plan);
  close (h->isync[1]);
  stdio_close_child_ends (h);
  /* The monitor must outlive an OOM in its container (conmon sets the same). */
  (void) write_file ("/proc/self/oom_score_adj", "-1000");
  if ((h->new_ns_flags & CLONE_NEWUSER) && ns_write_idmaps (h->plan, h->child, &err) < 0)
    fail (h, &err, "ns");
  if ((h->new_ns_flags & CLONE_NEWUSER) && h->plan->rootfs_idmap)
    {
      cleanup_close int userns = -1;
      snprintf (buf, sizeof (buf), "/proc/%d/ns/user", (int) h->child);
      if ((userns = open (buf, O_RDONLY | O_CLOEXEC)) < 0)
        berth_error (&err, errno, "open %s", buf), fail (h, &err, "mount");
      if ((rootfs = mount_idmapped_rootfs (h->plan, userns, &err)) < 0)
        fail (h, &err, "mount");
    }
  /* The container's root owns its cgroup (and may make sub-cgroups in it), as runc and crun do. */
  if (h->owns_cgroup && (h->new_ns_flags & CLONE_NEWUSER) && cgroup_delegate (&h->cg, h->plan, &err) < 0)
    fail (h, &err, "cgroup");
  if (h->has_cgroup && !h->self_attach && cgroup_attach (&h->cg, h->child, &err) < 0)
    fail (h, &err, "cgroup");
  /* When the container's init exits, the kernel tears its mount namespace down (every mount,
     the overlay's sync of its upper fs, an RCU grace period) before the exit is reported:
     about 1 ms between `true` exiting and the monitor's SIGCHLD. Holding the namespace moves
     that teardown to after the waiters are answered (monitor.c finish). Best effort. */
  if (h->new_ns_flags & CLONE_NEWNS)
    {
      snprintf (buf, sizeof (buf), "/proc/%d/ns/mnt", (int) h->child);
      h->mnt_ns = open (buf, O_RDONLY | O_CLOEXEC);
    }
  if (isync_send (h->isync[0], ISYNC_GO, NULL, rootfs) < 0)
    berth_error (&err, errno, "sync child"), fail (h, &err, "ns");
  if (rootfs >= 0)
    close (rootfs);
}

static void
wait_ready (struct helper *h)
{
  berth_error_t err = { 0 };
  struct isync_msg m;
  int fd, r = isync_recv (h->isync[0], &m, &fd);
  if (r <= 0)
    berth_error (&err, r < 0 ? errno : EPIPE, "child exited during setup"), fail (h, &err, "internal");
  if (m.type == ISYNC_ERROR)
    fail_from_child (h, &m);
  if (m.type != ISYNC_READY)
    berth_error (&err, EPROTO, "unexpected message from child"), fail (h, &err, "internal");
  if (fd >= 0)
    {
      h->io.master = fd;
      if (h->plan->capture.on)
        {
          h->io.cap[0] = fd;
          if (h->plan->capture.stdin_open)
            h->io.in.dst = fd;
        }
      else
        {
          h->io.out.src = fd;
          if (h->io.in.src >= 0)
            h->io.in.dst = fd;
        }
      (void) fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
    }
}

int
main (int argc, char **argv)
{
  static struct plan plan;
  berth_error_t err = { 0 };
  char line[SYNC_LINE_MAX];
  sigset_t mask;
  int lfd;
  ssize_t n;
  struct isync_msg m;
  int fd;

  if (argc > 1 && strcmp (argv[1], "--version") == 0)
    return puts ("berth-helper 1 (plan " PLAN_MAGIC ")") < 0;
  if (init_requested (argc, argv))
    return init_main (argc, argv); /* --init: pid 1 of a container (init.c) */
  if (argc > 2 && strcmp (argv[1], "--launcher") == 0)
    launcher_main (argv[2]); /* returns in a forked child, as a helper with fds 3 and 4 */
  if (fcntl (3, F_GETFD) < 0 || fcntl (4, F_GETFD) < 0)
    {
      fprintf (stderr, "berth-helper: needs the plan on fd 3 and the sync socket on fd 4 (see PROTOCOL.md)\n");
      return 2;
    }
  /* The monitor lives as long as the container: drop every fd the daemon leaked to us (libraries
     such as LevelDB open files without O_CLOEXEC). 0-2 are /dev/null from Node; 3-4 are ours. */
  if (syscall (SYS_close_range, 5, ~0U, 0) < 0)
    for (fd = 5; fd < 1024; fd++)
      (void) close (fd);
  H.sync_fd = 4;
  (void) fcntl (3, F_SETFD, FD_CLOEXEC);
  (void) fcntl (4, F_SETFD, FD_CLOEXEC);
  signal (SIGPIPE, SIG_IGN);
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  (void) setsid ();
  (void) prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  /* A spare that waits for its plan makes the costly namespaces meanwhile (SPARE_IDLE_MS: not
     while the Tasks/Create that launched it is still running). The monitor then lives in the
     container's network, uts and ipc namespaces: it only uses path sockets and files. */
  if (ns_premake (&H.premade, 3, SPARE_IDLE_MS))
    {
      berth_error_t ignored = { 0 };
      (void) cgroup_discover (&H.cg, &ignored); /* prepare() tries again if this failed */
      H.last_cap = read_last_cap ();
    }
  if (plan_read_fd (3, &plan, &err) < 0)
    fail (&H, &err, "plan");
  close (3);
  H.plan = &plan;
  prepare (&H);
  spawn (&H);
  seccomp_release (&plan);
  wait_ready (&H);
  /* Capture mode binds now, so attachers can connect before `start` and miss no output. */
  lfd = -1;
  if (plan.capture.on && (lfd = monitor_listen (&H, &err)) < 0)
    fail (&H, &err, "monitor");
  if (sync_write_msg (H.sync_fd, "created", H.child, NULL) < 0)
    abort_child (&H), monitor_unlink (&H), _exit (1);

  n = sync_read_line (H.sync_fd, line, sizeof (line));
  if (n <= 0 || strcmp (line, "start") != 0)
    {
      /* EOF or "abort": the daemon gave up on this container. */
      abort_child (&H);
      if (lfd >= 0)
        monitor_unlink (&H);
      _exit (n <= 0 ? 0 : 1);
    }
  /* Bind before exec so nothing can run unmonitored. */
  if (lfd < 0 && (lfd = monitor_listen (&H, &err)) < 0)
    fail (&H, &err, "monitor");
  if (isync_send (H.isync[0], ISYNC_START, NULL, -1) < 0)
    berth_error (&err, errno, "sync child"), fail (&H, &err, "exec");
  if (isync_recv (H.isync[0], &m, &fd) > 0 && m.type == ISYNC_ERROR)
    {
      char path[4096];
      snprintf (path, sizeof (path), "%s/monitor.sock", plan.state_dir);
      unlink (path);
      fail_from_child (&H, &m);
    }
  close (H.isync[0]);
  (void) sync_write_msg (H.sync_fd, "started", H.child, NULL);
  monitor_run (&H, lfd); /* keeps the sync connection as the first waiter (monitor.c) */
}
