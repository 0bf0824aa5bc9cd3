/* Cgroups v1 (one hierarchy per controller) and v2 (unified), detected at run time.
 * Every path lives below the helper's own cgroup (inherited from the daemon): berth
 * never writes outside it. On v2 a cgroup with processes cannot give its children controllers,
 * so berthd lives in the leaf `<own>/berthd` and the helper, finding itself there, takes `<own>`
 * as the base (src/tasks/cgroup-base.ts does the same). */
#ifndef BERTH_CGROUP_H
#define BERTH_CGROUP_H

#include <sys/types.h>
#include "error.h"
#include "plan.h"

#define CG_MAX_CTRL 10
/* The v2 leaf of the daemon's processes (DAEMON_LEAF in src/tasks/cgroup-base.ts). */
#define DAEMON_LEAF "berthd"

struct cgroup
{
  int discovered; /* base[] and names[] are filled (cgroup_discover) */
  int v2;
  size_t n;
  const char *names[CG_MAX_CTRL]; /* v1 controller names; v2: "unified" */
  char *base[CG_MAX_CTRL];        /* the helper's own cgroup dir per controller */
  char *leaf[CG_MAX_CTRL];        /* base + "/" + relative path */
};

/* Finds the helper's own cgroup per controller (no plan needed: an idle spare does it ahead). */
int cgroup_discover (struct cgroup *cg, berth_error_t *err);
/* Sets leaf[] to base/rel, discovering first if that was not done. */
int cgroup_resolve (struct cgroup *cg, const char *rel, berth_error_t *err);
int cgroup_create (struct cgroup *cg, berth_error_t *err);
int cgroup_attach (struct cgroup *cg, pid_t pid, berth_error_t *err);
/* v1 only: moves the calling (single-threaded) process into the leaf of every hierarchy. */
int cgroup_attach_self (struct cgroup *cg, berth_error_t *err);
int cgroup_apply (struct cgroup *cg, const struct plan *p, berth_error_t *err); /* cgroup_res.c */
/* v2 device rules: generates the eBPF program (cgroup_bpf.c; 0 = `out` too small) and attaches it. */
struct bpf_insn;
size_t cgroup_devices_program (const struct plan *p, struct bpf_insn *out, size_t cap);
int cgroup_devices_bpf (const char *dir, const struct plan *p, berth_error_t *err);
/* User namespace: the container's root gets its cgroup dir and the delegatable files (cgroup_delegate.c). */
int cgroup_delegate (struct cgroup *cg, const struct plan *p, berth_error_t *err);
/* Removes dir and any sub-cgroups a delegated container made, deepest first; 0 when gone. */
int cgroup_rmdir_tree (const char *dir, int depth);
/* Kills what is left, removes the leaf and any now-empty parents up to base. */
void cgroup_destroy (struct cgroup *cg, unsigned keep);
int cgroup_freeze (struct cgroup *cg, int freeze, berth_error_t *err);
int cgroup_is_frozen (struct cgroup *cg);
int cgroup_kill_all (struct cgroup *cg, int sig, berth_error_t *err);
/* Number of OOM kills recorded by the memory controller, or 0. */
long cgroup_oom_kills (struct cgroup *cg);
/* An fd that becomes readable (v1 eventfd) or POLLPRI (v2 memory.events) on OOM; -1 if none. */
int cgroup_oom_fd (struct cgroup *cg, int *is_v2_events);
/* Writes a JSON object with memory/pids/cpu stats into buf. */
void cgroup_stats (struct cgroup *cg, char *buf, size_t cap);
/* Directory of a controller (v1 name) or the unified dir; NULL if absent. */
const char *cgroup_dir (struct cgroup *cg, const char *ctrl);
void cgroup_free (struct cgroup *cg);
/* Sleeps `ms` milliseconds (polling loops in cgroup.c and cgroup_state.c). */
void cgroup_nap_ms (long ms);

#endif
