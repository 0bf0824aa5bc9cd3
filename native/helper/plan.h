/* The launch plan: what Node validated with zod and sent on fd 3 (PROTOCOL.md). */
#ifndef BERTH_PLAN_H
#define BERTH_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define PLAN_MAGIC "BRTHPLN1"
#define PLAN_MAX_SIZE (4u << 20)

enum { PLAN_MODE_CREATE = 0, PLAN_MODE_EXEC = 1 };
enum { STDIO_NULL = 0, STDIO_FIFO = 1, STDIO_FILE = 2 };
enum { CAP_SET_BOUNDING, CAP_SET_EFFECTIVE, CAP_SET_PERMITTED, CAP_SET_INHERITABLE, CAP_SET_AMBIENT, CAP_SET_COUNT };

struct plan_ns { int flag; char *path; };            /* flag: CLONE_NEW*; path NULL = new */
struct plan_idmap { uint32_t container, host, size; };
/* `detached`: under a new user namespace, a bind's source cloned with the host's credentials
   before clone() (mount_detach_binds), for the child to attach; -1 otherwise. */
struct plan_mount { char *destination, *type, *source; char **options; size_t n_options; int detached; };
struct plan_device { char *path; char type; uint32_t major, minor, mode, uid, gid; };
struct plan_dev_rule { int allow; char type; int64_t major, minor; char *access; };
/* One block device's io settings; -1 = unset. */
struct plan_io_device { uint32_t major, minor; int64_t weight, rbps, wbps, riops, wiops; };
struct plan_kv { char *key, *value; };
struct plan_rlimit { int type; uint64_t soft, hard; };
struct plan_stdio { int kind; char *path; };
/* The monitor holds the process's stdio itself (plan_capture.c): logs it and serves attachers. */
struct plan_capture { int on, stdin_open; char *log_path; int64_t log_max_size; uint32_t log_max_files; };

struct plan
{
  int mode;
  char *id, *state_dir, *rootfs, *rootfs_propagation;
  int rootfs_readonly;
  int rootfs_idmap; /* show the rootfs through the container's id mapping (mount_idmap.c) */
  struct plan_mount *rootfs_mounts; size_t n_rootfs_mounts;
  struct plan_ns *ns; size_t n_ns;
  struct plan_idmap *uid_maps; size_t n_uid_maps;
  struct plan_idmap *gid_maps; size_t n_gid_maps;
  struct plan_mount *mounts; size_t n_mounts;
  char **masked; size_t n_masked;
  char **readonly; size_t n_readonly;
  struct plan_device *devices; size_t n_devices;
  char *hostname, *domainname;
  struct plan_kv *sysctls; size_t n_sysctls;
  struct plan_rlimit *rlimits; size_t n_rlimits;
  int has_oom_score_adj, oom_score_adj;
  uint32_t uid, gid;
  uint32_t *gids; size_t n_gids;
  int has_umask; uint32_t umask;
  char *cwd;
  char **args; size_t n_args;
  char **env; size_t n_env;
  int has_caps;
  uint64_t caps[CAP_SET_COUNT];
  int no_new_privileges, terminal;
  uint32_t tty_width, tty_height;
  struct plan_stdio stdio[3];
  char *cgroup_path;
  int cgroup_join;
  uint32_t cgroup_keep; /* leading cgroup_path components not removed with the cgroup */
  /* resources: -1 = unset */
  int64_t mem_limit, mem_reservation, mem_swap, cpu_shares, cpu_quota, cpu_period, pids_limit;
  char *cpuset_cpus, *cpuset_mems;
  struct plan_dev_rule *dev_rules; size_t n_dev_rules;
  unsigned char *seccomp_filter; size_t seccomp_len; /* BPF program, NULL = no seccomp */
  uint32_t seccomp_flags;                            /* SECCOMP_FILTER_FLAG_* */
  struct plan_capture capture;
  int64_t io_weight; /* -1 = unset */
  struct plan_io_device *io_devices; size_t n_io_devices;
};

/* Parses a complete plan buffer. On failure err is filled (stage "plan"). */
int plan_parse (const uint8_t *buf, size_t len, struct plan *out, berth_error_t *err);
/* Reads fd until EOF (bounded by PLAN_MAX_SIZE) and parses it. */
int plan_read_fd (int fd, struct plan *out, berth_error_t *err);
void plan_free (struct plan *p);
/* plan_capture.c: 1 when r is a capture key (parsed into p), 0 when not, -1 on error. */
int plan_parse_capture_key (const void *rec, struct plan *p, berth_error_t *err);
/* Checks the capture keys against the rest of the plan once it is parsed. */
int plan_check_capture (const struct plan *p, berth_error_t *err);
/* Returns the CLONE_NEW* flag for an OCI namespace type name, or 0. */
int plan_ns_flag (const char *name);

#endif
