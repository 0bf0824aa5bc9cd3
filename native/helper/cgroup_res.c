/* Writes resource limits into a freshly created cgroup (v1 or v2). */
#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The controller a v2 file belongs to (its prefix), for the error when it is missing. */
static const char *
controller_of (const char *file, char *buf, size_t cap)
{
  const char *dot = strchr (file, '.');
  snprintf (buf, cap, "%.*s", dot ? (int) (dot - file) : (int) strlen (file), file);
  return buf;
}

static int
put (const char *dir, const char *file, const char *val, berth_error_t *err)
{
  char path[4096], ctrl[32];
  if (dir == NULL)
    return berth_error (err, ENOTSUP, "cgroup: controller for %s not available", file);
  snprintf (path, sizeof (path), "%s/%s", dir, file);
  if (write_file (path, val) == 0)
    return 0;
  if (errno == ENOENT)
    /* v2: the parent did not hand this controller down (its cgroup holds processes, or the
       controller is not delegated to us); v1: the kernel lacks the file. */
    return berth_error (err, ENOTSUP, "cgroup: %s: no %s here (controller `%s` not enabled for this cgroup)", path, file,
                        controller_of (file, ctrl, sizeof (ctrl)));
  return berth_error (err, errno, "cgroup: write `%s` to %s", val, path);
}

static int
put_num (const char *dir, const char *file, long long v, berth_error_t *err)
{
  char val[32];
  snprintf (val, sizeof (val), "%lld", v);
  return put (dir, file, val, err);
}

static int
exists (const char *dir, const char *file)
{
  char path[4096];
  struct stat st;
  snprintf (path, sizeof (path), "%s/%s", dir, file);
  return dir != NULL && stat (path, &st) == 0;
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

/* v1 blkio: the weight files exist only with the BFQ scheduler (blkio.bfq.*) or the old CFQ. */
static int
apply_io_v1 (struct cgroup *cg, const struct plan *p, berth_error_t *err)
{
  const char *d = cgroup_dir (cg, "blkio");
  const char *weight = exists (d, "blkio.weight") ? "blkio.weight" : "blkio.bfq.weight";
  char val[64];
  if (p->io_weight > 0 && put_num (d, weight, p->io_weight, err) < 0)
    return -1;
  for (size_t i = 0; i < p->n_io_devices; i++)
    {
      const struct plan_io_device *io = &p->io_devices[i];
      const struct { const char *file; int64_t v; } t[] = {
        { exists (d, "blkio.weight_device") ? "blkio.weight_device" : "blkio.bfq.weight_device", io->weight },
        { "blkio.throttle.read_bps_device", io->rbps }, { "blkio.throttle.write_bps_device", io->wbps },
        { "blkio.throttle.read_iops_device", io->riops }, { "blkio.throttle.write_iops_device", io->wiops },
      };
      for (size_t j = 0; j < sizeof (t) / sizeof (t[0]); j++)
        {
          if (t[j].v < 0)
            continue;
          snprintf (val, sizeof (val), "%u:%u %lld", io->major, io->minor, (long long) t[j].v);
          if (put (d, t[j].file, val, err) < 0)
            return -1;
        }
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
  if ((p->io_weight > 0 || p->n_io_devices > 0) && apply_io_v1 (cg, p, err) < 0)
    return -1;
  return apply_devices_v1 (cg, p, err);
}

/* v2 io: io.bfq.weight where BFQ runs, else io.weight (blk-iocost), which counts 1-10000 where
   blkio counted 10-1000 (runc's and crun's conversion); io.max takes every throttle of a device
   on one line. */
static int
apply_io_v2 (const char *d, const struct plan *p, berth_error_t *err)
{
  int bfq = exists (d, "io.bfq.weight");
  char val[160];
  if (p->io_weight > 0)
    {
      if (bfq)
        snprintf (val, sizeof (val), "%lld", (long long) p->io_weight);
      else
        snprintf (val, sizeof (val), "default %lld", 1 + (((long long) p->io_weight - 10) * 9999) / 990);
      if (put (d, bfq ? "io.bfq.weight" : "io.weight", val, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < p->n_io_devices; i++)
    {
      const struct plan_io_device *io = &p->io_devices[i];
      static const char *const names[] = { "rbps", "wbps", "riops", "wiops" };
      const int64_t vals[] = { io->rbps, io->wbps, io->riops, io->wiops };
      size_t len;
      if (io->weight >= 0)
        {
          snprintf (val, sizeof (val), "%u:%u %lld", io->major, io->minor,
                    bfq ? (long long) io->weight : 1 + (((long long) io->weight - 10) * 9999) / 990);
          if (put (d, bfq ? "io.bfq.weight" : "io.weight", val, err) < 0)
            return -1;
        }
      len = (size_t) snprintf (val, sizeof (val), "%u:%u", io->major, io->minor);
      for (size_t j = 0; j < 4; j++)
        if (vals[j] >= 0)
          len += (size_t) snprintf (val + len, sizeof (val) - len, " %s=%lld", names[j], (long long) vals[j]);
      if (strchr (val, '=') != NULL && put (d, "io.max", val, err) < 0)
        return -1;
    }
  return 0;
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
  /* OCI swap is memory+swap; v2 memory.swap.max is swap alone (runc's and crun's conversion). */
  if (p->mem_swap > 0)
    {
      if (p->mem_limit <= 0)
        return berth_error (err, EINVAL, "cgroup: a swap limit needs a memory limit");
      if (p->mem_swap < p->mem_limit)
        return berth_error (err, EINVAL, "cgroup: memory+swap %lld is below the memory limit %lld",
                            (long long) p->mem_swap, (long long) p->mem_limit);
      if (put_num (d, "memory.swap.max", p->mem_swap - p->mem_limit, err) < 0)
        return -1;
    }
  if (p->cpu_shares > 0 && put_num (d, "cpu.weight", 1 + ((p->cpu_shares - 2) * 9999) / 262142, err) < 0)
    return -1;
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
  if ((p->io_weight > 0 || p->n_io_devices > 0) && apply_io_v2 (d, p, err) < 0)
    return -1;
  return cgroup_devices_bpf (d, p, err);
}

int
cgroup_apply (struct cgroup *cg, const struct plan *p, berth_error_t *err)
{
  return cg->v2 ? apply_v2 (cg, p, err) : apply_v1 (cg, p, err);
}
