/* The container's seccomp filter: a classic BPF program berthd compiled (berth-seccomp plus its
 * ENOSYS stub), carried on the plan and loaded by the child with one seccomp(2) call. */
#ifndef BERTH_SECCOMP_H
#define BERTH_SECCOMP_H

#include "error.h"
#include "plan.h"
#include "plan_internal.h"

/* The nested `seccomp` plan record: `filter` (struct sock_filter[], host byte order) and `flags`. */
int parse_seccomp (const struct rec *outer, struct plan *p, berth_error_t *err);
/* Loads the plan's filter into the calling thread (no-op without one). Without no_new_privs this
   needs CAP_SYS_ADMIN, so the child calls it before dropping capabilities (as runc and crun do). */
int seccomp_apply (const struct plan *p, berth_error_t *err);
/* The monitor's side once the child is cloned: drops its copy of the filter and gives the heap
   pages the plan and the filter used back to the kernel, so a filter costs the monitor nothing. */
void seccomp_release (struct plan *p);

#endif
