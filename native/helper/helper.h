/* State shared by the helper's stages (main.c, child.c, stdio.c, monitor.c, control.c). */
#ifndef BERTH_HELPER_H
#define BERTH_HELPER_H

#include <sys/types.h>
#include "cgroup.h"
#include "error.h"
#include "ns.h"
#include "plan.h"

#define PUMP_BUF 4096

/* One direction of copying (stdin FIFO -> process, or pty master -> stdout). */
struct pump
{
  int src, dst;
  size_t len, off;
  char buf[PUMP_BUF];
};

struct stdio_state
{
  int child[3];   /* fds the process gets (non-tty); -1 = /dev/null */
  int hold[3];    /* FIFO ends the monitor holds and closes when the process exits */
  struct pump in; /* stdin FIFO -> pipe or pty master */
  struct pump out; /* pty master -> stdout (tty only) */
  int master;
  int cap[2];      /* capture mode: the read ends the monitor logs and serves (stdout or the pty, stderr) */
};

struct helper
{
  struct plan *plan;
  struct cgroup cg;
  int has_cgroup, owns_cgroup;
  int self_attach;   /* the child joins its cgroup itself (see cgroup_attach_self) */
  int sync_fd;       /* fd 4: NDJSON to Node */
  int isync[2];      /* [0] helper end, [1] child end */
  pid_t child;
  unsigned last_cap;
  int orig_oom_score_adj;
  int new_ns_flags;
  int rootfs_mnt;    /* user namespace: the detached rootfs mount the child attaches, or -1 */
  int mnt_ns;        /* the container's mount namespace, held until the waiters are answered, or -1 */
  struct premade_ns premade; /* namespaces an idle spare made ahead of its plan (ns_premake) */
  struct stdio_state io;
};

int stdio_prepare (struct helper *h, berth_error_t *err);
void stdio_close_child_ends (struct helper *h);
void __attribute__ ((noreturn)) child_main (struct helper *h);
/* Becomes the monitor; never returns. */
void __attribute__ ((noreturn)) monitor_run (struct helper *h, int listen_fd);
int monitor_listen (struct helper *h, berth_error_t *err);
/* Removes the control socket (a launch given up before the monitor ran). */
void monitor_unlink (struct helper *h);

#endif
