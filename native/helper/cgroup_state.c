/* What a container's cgroup says and does besides membership: freezing (pause/resume), OOM
 * kills and their notification fd, and the counters Tasks/Metrics reports. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "error.h"

int
cgroup_is_frozen (struct cgroup *cg)
{
  char path[4096], buf[256];
  const char *d = cgroup_dir (cg, "freezer");
  if (d == NULL)
    return 0;
  snprintf (path, sizeof (path), cg->v2 ? "%s/cgroup.freeze" : "%s/freezer.state", d);
  if (read_small_file (path, buf, sizeof (buf)) < 0)
    return 0;
  return cg->v2 ? buf[0] == '1' : strncmp (buf, "FROZEN", 6) == 0 || strncmp (buf, "FREEZING", 8) == 0;
}

int
cgroup_freeze (struct cgroup *cg, int freeze, berth_error_t *err)
{
  char path[4096], buf[256];
  const char *d = cgroup_dir (cg, "freezer");
  if (d == NULL)
    return berth_error (err, ENOTSUP, "cgroup: no freezer");
  snprintf (path, sizeof (path), cg->v2 ? "%s/cgroup.freeze" : "%s/freezer.state", d);
  if (write_file (path, cg->v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED")) < 0)
    return berth_error (err, errno, "cgroup: write %s", path);
  if (!freeze)
    return 0;
  /* Wait until the freeze completed (v1 FREEZING is transient; v2 reports "frozen 1"). */
  if (cg->v2)
    snprintf (path, sizeof (path), "%s/cgroup.events", d);
  for (int tries = 0; tries < 1000; tries++)
    {
      if (read_small_file (path, buf, sizeof (buf)) < 0)
        return berth_error (err, errno, "cgroup: read %s", path);
      if (cg->v2 ? strstr (buf, "frozen 1") != NULL : strncmp (buf, "FROZEN", 6) == 0)
        return 0;
      if (!cg->v2)
        (void) write_file (path, "FROZEN");
      cgroup_nap_ms (1);
    }
  return berth_error (err, EBUSY, "cgroup: freeze did not complete");
}

static long
read_key (const char *path, const char *key)
{
  char buf[2048];
  char *p;
  size_t klen = strlen (key);
  if (read_small_file (path, buf, sizeof (buf)) < 0)
    return -1;
  for (p = buf; p != NULL && *p; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp (p, key, klen) == 0 && p[klen] == ' ')
      return strtol (p + klen + 1, NULL, 10);
  return -1;
}

long
cgroup_oom_kills (struct cgroup *cg)
{
  char path[4096];
  const char *d = cgroup_dir (cg, "memory");
  long v;
  if (d == NULL)
    return 0;
  snprintf (path, sizeof (path), cg->v2 ? "%s/memory.events" : "%s/memory.oom_control", d);
  v = read_key (path, "oom_kill");
  return v < 0 ? 0 : v;
}

int
cgroup_oom_fd (struct cgroup *cg, int *is_v2_events)
{
  char path[4096], val[64];
  const char *d = cgroup_dir (cg, "memory");
  int efd, ofd;
  *is_v2_events = cg->v2;
  if (d == NULL)
    return -1;
  if (cg->v2)
    {
      snprintf (path, sizeof (path), "%s/memory.events", d);
      return open (path, O_RDONLY | O_CLOEXEC);
    }
  snprintf (path, sizeof (path), "%s/memory.oom_control", d);
  if ((ofd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
    return -1;
  if ((efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
    return close (ofd), -1;
  snprintf (val, sizeof (val), "%d %d", efd, ofd);
  snprintf (path, sizeof (path), "%s/cgroup.event_control", d);
  if (write_file (path, val) < 0)
    {
      close (efd);
      efd = -1;
    }
  close (ofd);
  return efd;
}

static long long
read_num (const char *dir, const char *file)
{
  char path[4096], buf[64];
  if (dir == NULL)
    return -1;
  snprintf (path, sizeof (path), "%s/%s", dir, file);
  if (read_small_file (path, buf, sizeof (buf)) < 0)
    return -1;
  return strncmp (buf, "max", 3) == 0 ? -1 : strtoll (buf, NULL, 10);
}

void
cgroup_stats (struct cgroup *cg, char *buf, size_t cap)
{
  const char *mem = cgroup_dir (cg, "memory"), *pids = cgroup_dir (cg, "pids");
  long long cpu_ns;
  if (cg->v2)
    {
      char path[4096];
      long usec;
      snprintf (path, sizeof (path), "%s/cpu.stat", cg->leaf[0]);
      usec = read_key (path, "usage_usec");
      cpu_ns = usec < 0 ? -1 : (long long) usec * 1000;
    }
  else
    cpu_ns = read_num (cgroup_dir (cg, "cpuacct"), "cpuacct.usage");
  snprintf (buf, cap,
            "{\"memory_usage\":%lld,\"memory_limit\":%lld,\"memory_max_usage\":%lld,\"pids_current\":%lld,"
            "\"pids_limit\":%lld,\"cpu_usage_ns\":%lld,\"oom_kills\":%ld}",
            read_num (mem, cg->v2 ? "memory.current" : "memory.usage_in_bytes"),
            read_num (mem, cg->v2 ? "memory.max" : "memory.limit_in_bytes"),
            read_num (mem, cg->v2 ? "memory.peak" : "memory.max_usage_in_bytes"), read_num (pids, "pids.current"),
            read_num (pids, "pids.max"), cpu_ns, cgroup_oom_kills (cg));
}
