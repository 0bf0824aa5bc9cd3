/* Internal to the plan parser: the record iterator and the nested-record parsers. */
#ifndef BERTH_PLAN_INTERNAL_H
#define BERTH_PLAN_INTERNAL_H
#include "plan.h"

struct rec { const char *key; size_t klen; const uint8_t *val; size_t vlen; };
struct iter { const uint8_t *p, *end; };

int iter_next (struct iter *it, struct rec *r, berth_error_t *err);
int key_is (const struct rec *r, const char *k);
int str_dup (const struct rec *r, char **out, berth_error_t *err);
int path_dup (const struct rec *r, char **out, berth_error_t *err);
int parse_i64 (const struct rec *r, int64_t min, int64_t max, int64_t *out, berth_error_t *err);
int parse_u64 (const struct rec *r, uint64_t *out, berth_error_t *err);
int parse_u32 (const struct rec *r, uint32_t *out, berth_error_t *err);
int parse_bool (const struct rec *r, int *out, berth_error_t *err);
void *grow (void *arrp, size_t *n, size_t sz, berth_error_t *err);
int push_str (char ***arr, size_t *n, const struct rec *r, berth_error_t *err);
int parse_mount (const struct rec *outer, struct plan_mount *m, int need_dest, berth_error_t *err);
int parse_ns (const struct rec *outer, struct plan_ns *ns, berth_error_t *err);
int parse_idmap (const struct rec *outer, struct plan_idmap *m, berth_error_t *err);
int parse_device (const struct rec *outer, struct plan_device *d, berth_error_t *err);
int parse_dev_rule (const struct rec *outer, struct plan_dev_rule *d, berth_error_t *err);
int parse_io_device (const struct rec *outer, struct plan_io_device *d, berth_error_t *err); /* plan_resources.c */
int parse_kv (const struct rec *outer, struct plan_kv *kv, berth_error_t *err);
int parse_rlimit (const struct rec *outer, struct plan_rlimit *rl, berth_error_t *err);
int parse_stdio (const struct rec *outer, struct plan_stdio *s, berth_error_t *err);
int parse_cgroup_path (const struct rec *r, char **out, berth_error_t *err);
#define FOR_NESTED(outer, r)                                                  \
  struct iter it_ = { (outer)->val, (outer)->val + (outer)->vlen };          \
  struct rec r;                                                               \
  int rc_;                                                                    \
  while ((rc_ = iter_next (&it_, &r, err)) > 0)
#define NESTED_END() if (rc_ < 0) return -1
#define UNKNOWN(r) berth_error (err, EINVAL, "plan: unknown key `%.*s`", (int) (r).klen, (r).key)
#endif
