/* Writes resource limits into a freshly created cgroup (v1 or v2). */
#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int
put (const char *dir, const char *file, const char *val, berth_error_t *err)
{
  char path[4096];
  if (dir == NULL)
    return berth_error (err, ENOTSUP, "cgroup: controller for %s not available", file);
  snprintf (path, sizeof (path), "%s/%s", dir, file);
  if (write_file (path, val) < 0)
    return berth_error (err, errno, "cgroup: write `%s` to %s", val, path);
  return 0;
}

static int
put_num (const char *dir, const char *file, long long v, berth_error_t *err)
{
  char val[32];
  snprintf (val, sizeof (val), "%lld", v);
  return put (dir, file, val, err);
}

static int
apply_devices_v1 (struct cgroup *cg, const struct plan *p, berth_error_t *err)
{
  const char *d = cgroup_dir (cg, "devices");
  for (size_t i = 0; i < p->n_dev_rules; i++)
    {
      const struct plan_dev_rule *r = &p->dev_rules[i];
      char rule[96], maj[24], min[24];
      snprintf (maj, sizeof (maj), r->major < 0 ? "*" : "%lld", (long long) r->major);
      snprintf (min, sizeof (min), r->minor < 0 ? "*" : "%lld", (long long) r->minor);
      if (r->type == 'a' && r->major < 0 && r->minor < 0)
        snprintf (rule, sizeof (rule), "a");
      else
        snprintf (rule, sizeof (rule), "%c %s:%s %s", r->type, maj, min, r->access);
      if (put (d, r->allow ? "devices.allow" : "devices.deny", rule, err) < 0)
        return -1;
    }
  return 0;
}

static int
apply_v1 (struct cgroup *cg, const struct plan *p, berth_error_t *err)
{
  const char *mem = cgroup_dir (cg, "memory"), *cpu = cgroup_dir (cg, "cpu");
  if (p->mem_limit > 0 && put_num (mem, "memory.limit_in_bytes", p->mem_limit, err) < 0)
    return -1;
  if (p->mem_reservation > 0 && put_num (mem, "memory.soft_limit_in_bytes", p->mem_reservation, err) < 0)
    return -1;
  if (p->mem_swap > 0 && put_num (mem, "memory.memsw.limit_in_bytes", p->mem_swap, err) < 0)
    return -1;
  if (p->cpu_shares > 0 && put_num (cpu, "cpu.shares", p->cpu_shares, err) < 0)
    return -1;
  if (p->cpu_period > 0 && put_num (cpu, "cpu.cfs_period_us", p->cpu_period, err) < 0)
    return -1;
  if (p->cpu_quota != -1 && p->cpu_quota != 0 && put_num (cpu, "cpu.cfs_quota_us", p->cpu_quota, err) < 0)
    return -1;
  if (p->cpuset_cpus && put (cgroup_dir (cg, "cpuset"), "cpuset.cpus", p->cpuset_cpus, err) < 0)
    return -1;
  if (p->cpuset_mems && put (cgroup_dir (cg, "cpuset"), "cpuset.mems", p->cpuset_mems, err) < 0)
    return -1;
  if (p->pids_limit > 0 && put_num (cgroup_dir (cg, "pids"), "pids.max", p->pids_limit, err) < 0)
    return -1;
  return apply_devices_v1 (cg, p, err);
}

static int
apply_v2 (struct cgroup *cg, const struct plan *p, berth_error_t *err)
{
  const char *d = cg->leaf[0];
  char val[64];
  if (p->mem_limit > 0 && put_num (d, "memory.max", p->mem_limit, err) < 0)
    return -1;
  if (p->mem_reservation > 0 && put_num (d, "memory.low", p->mem_reservation, err) < 0)
    return -1;
  /* OCI swap is memory+swap; v2 swap.max is swap alone. */
  if (p->mem_swap > 0 && p->mem_limit > 0 && p->mem_swap >= p->mem_limit
      && put_num (d, "memory.swap.max", p->mem_swap - p->mem_limit, err) < 0)
    return -1;
  if (p->cpu_shares > 0)
    {
      /* The conversion crun and runc use: [2, 262144] -> [1, 10000]. */
      long long w = 1 + ((p->cpu_shares - 2) * 9999) / 262142;
      if (put_num (d, "cpu.weight", w, err) < 0)
        return -1;
    }
  if (p->cpu_quota != -1 || p->cpu_period > 0)
    {
      long long period = p->cpu_period > 0 ? p->cpu_period : 100000;
      if (p->cpu_quota > 0)
        snprintf (val, sizeof (val), "%lld %lld", (long long) p->cpu_quota, period);
      else
        snprintf (val, sizeof (val), "max %lld", period);
      if (put (d, "cpu.max", val, err) < 0)
        return -1;
    }
  if (p->cpuset_cpus && put (d, "cpuset.cpus", p->cpuset_cpus, err) < 0)
    return -1;
  if (p->cpuset_mems && put (d, "cpuset.mems", p->cpuset_mems, err) < 0)
    return -1;
  if (p->pids_limit > 0 && put_num (d, "pids.max", p->pids_limit, err) < 0)
    return -1;
  /* Device rules need eBPF on v2; the Node side reports them as not enforced. */
  return 0;
}

int
cgroup_apply (struct cgroup *cg, const struct plan *p, berth_error_t *err)
{
  return cg->v2 ? apply_v2 (cg, p, err) : apply_v1 (cg, p, err);
}
