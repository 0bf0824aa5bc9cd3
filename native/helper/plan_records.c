/* Plan records: the length-prefixed iterator and parsers for compound values. */

#include "plan_internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


int
iter_next (struct iter *it, struct rec *r, berth_error_t *err)
{
  uint32_t vlen;
  uint16_t klen;
  if (it->p == it->end)
    return 0;
  if ((size_t) (it->end - it->p) < 2)
    return berth_error (err, EINVAL, "plan: truncated key length");
  klen = (uint16_t) (it->p[0] | (it->p[1] << 8));
  it->p += 2;
  if (klen == 0 || (size_t) (it->end - it->p) < (size_t) klen + 4)
    return berth_error (err, EINVAL, "plan: truncated key");
  r->key = (const char *) it->p;
  r->klen = klen;
  it->p += klen;
  vlen = (uint32_t) it->p[0] | ((uint32_t) it->p[1] << 8) | ((uint32_t) it->p[2] << 16) | ((uint32_t) it->p[3] << 24);
  it->p += 4;
  if ((size_t) (it->end - it->p) < vlen)
    return berth_error (err, EINVAL, "plan: value of `%.*s` truncated", (int) klen, r->key);
  r->val = it->p;
  r->vlen = vlen;
  it->p += vlen;
  return 1;
}

int
key_is (const struct rec *r, const char *k)
{
  return strlen (k) == r->klen && memcmp (r->key, k, r->klen) == 0;
}

int
str_dup (const struct rec *r, char **out, berth_error_t *err)
{
  char *s;
  if (memchr (r->val, '\0', r->vlen) != NULL)
    return berth_error (err, EINVAL, "plan: value of `%.*s` contains NUL", (int) r->klen, r->key);
  s = malloc (r->vlen + 1);
  if (s == NULL)
    return berth_error (err, ENOMEM, "plan: alloc");
  memcpy (s, r->val, r->vlen);
  s[r->vlen] = '\0';
  free (*out);
  *out = s;
  return 0;
}

int
path_dup (const struct rec *r, char **out, berth_error_t *err)
{
  if (str_dup (r, out, err) < 0)
    return -1;
  if ((*out)[0] != '/')
    return berth_error (err, EINVAL, "plan: `%.*s` must be an absolute path", (int) r->klen, r->key);
  return 0;
}

int
parse_i64 (const struct rec *r, int64_t min, int64_t max, int64_t *out, berth_error_t *err)
{
  char buf[32];
  char *end;
  long long v;
  if (r->vlen == 0 || r->vlen >= sizeof (buf))
    return berth_error (err, EINVAL, "plan: bad number for `%.*s`", (int) r->klen, r->key);
  memcpy (buf, r->val, r->vlen);
  buf[r->vlen] = '\0';
  errno = 0;
  v = strtoll (buf, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return berth_error (err, EINVAL, "plan: bad number `%s` for `%.*s`", buf, (int) r->klen, r->key);
  *out = v;
  return 0;
}

int
parse_u64 (const struct rec *r, uint64_t *out, berth_error_t *err)
{
  char buf[32];
  char *end;
  unsigned long long v;
  if (r->vlen == 0 || r->vlen >= sizeof (buf) || r->val[0] == '-')
    return berth_error (err, EINVAL, "plan: bad unsigned number for `%.*s`", (int) r->klen, r->key);
  memcpy (buf, r->val, r->vlen);
  buf[r->vlen] = '\0';
  errno = 0;
  v = strtoull (buf, &end, 10);
  if (errno != 0 || *end != '\0')
    return berth_error (err, EINVAL, "plan: bad unsigned number `%s` for `%.*s`", buf, (int) r->klen, r->key);
  *out = v;
  return 0;
}

int
parse_u32 (const struct rec *r, uint32_t *out, berth_error_t *err)
{
  int64_t v;
  if (parse_i64 (r, 0, UINT32_MAX, &v, err) < 0)
    return -1;
  *out = (uint32_t) v;
  return 0;
}

int
parse_bool (const struct rec *r, int *out, berth_error_t *err)
{
  int64_t v;
  if (parse_i64 (r, 0, 1, &v, err) < 0)
    return -1;
  *out = (int) v;
  return 0;
}

/* Grows *arr by one zeroed element of size sz; returns a pointer to it. */
void *
grow (void *arrp, size_t *n, size_t sz, berth_error_t *err)
{
  void **arr = arrp;
  char *p = realloc (*arr, (*n + 1) * sz);
  if (p == NULL)
    {
      berth_error (err, ENOMEM, "plan: alloc");
      return NULL;
    }
  memset (p + *n * sz, 0, sz);
  *arr = p;
  return p + (*n)++ * sz;
}

int
push_str (char ***arr, size_t *n, const struct rec *r, berth_error_t *err)
{
  char **slot = grow (arr, n, sizeof (char *), err);
  return slot == NULL ? -1 : str_dup (r, slot, err);
}

int
parse_mount (const struct rec *outer, struct plan_mount *m, int need_dest, berth_error_t *err)
{
  m->detached = -1;
  FOR_NESTED (outer, r)
  {
    int ret;
    if (key_is (&r, "destination"))
      ret = path_dup (&r, &m->destination, err);
    else if (key_is (&r, "type"))
      ret = str_dup (&r, &m->type, err);
    else if (key_is (&r, "source"))
      ret = str_dup (&r, &m->source, err);
    else if (key_is (&r, "option"))
      ret = push_str (&m->options, &m->n_options, &r, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  if ((need_dest && m->destination == NULL) || m->type == NULL)
    return berth_error (err, EINVAL, "plan: mount needs destination and type");
  if (m->source == NULL && (m->source = strdup ("none")) == NULL)
    return berth_error (err, ENOMEM, "plan: alloc");
  return 0;
}

int
parse_ns (const struct rec *outer, struct plan_ns *ns, berth_error_t *err)
{
  FOR_NESTED (outer, r)
  {
    int ret = 0;
    if (key_is (&r, "type"))
      {
        char *name = NULL;
        if (str_dup (&r, &name, err) < 0)
          return -1;
        ns->flag = plan_ns_flag (name);
        free (name);
        if (ns->flag == 0)
          ret = berth_error (err, EINVAL, "plan: unknown namespace type");
      }
    else if (key_is (&r, "path"))
      ret = path_dup (&r, &ns->path, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  if (ns->flag == 0)
    return berth_error (err, EINVAL, "plan: namespace without type");
  return 0;
}

int
parse_idmap (const struct rec *outer, struct plan_idmap *m, berth_error_t *err)
{
  FOR_NESTED (outer, r)
  {
    int ret;
    if (key_is (&r, "container"))
      ret = parse_u32 (&r, &m->container, err);
    else if (key_is (&r, "host"))
      ret = parse_u32 (&r, &m->host, err);
    else if (key_is (&r, "size"))
      ret = parse_u32 (&r, &m->size, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  return m->size == 0 ? berth_error (err, EINVAL, "plan: id map of size 0") : 0;
}

static int
parse_char (const struct rec *r, const char *allowed, char *out, berth_error_t *err)
{
  if (r->vlen != 1 || strchr (allowed, r->val[0]) == NULL || r->val[0] == '\0')
    return berth_error (err, EINVAL, "plan: bad `%.*s`", (int) r->klen, r->key);
  *out = (char) r->val[0];
  return 0;
}

int
parse_device (const struct rec *outer, struct plan_device *d, berth_error_t *err)
{
  FOR_NESTED (outer, r)
  {
    int ret;
    if (key_is (&r, "path"))
      ret = path_dup (&r, &d->path, err);
    else if (key_is (&r, "type"))
      ret = parse_char (&r, "cbup", &d->type, err);
    else if (key_is (&r, "major"))
      ret = parse_u32 (&r, &d->major, err);
    else if (key_is (&r, "minor"))
      ret = parse_u32 (&r, &d->minor, err);
    else if (key_is (&r, "mode"))
      ret = parse_u32 (&r, &d->mode, err);
    else if (key_is (&r, "uid"))
      ret = parse_u32 (&r, &d->uid, err);
    else if (key_is (&r, "gid"))
      ret = parse_u32 (&r, &d->gid, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  return d->path == NULL || d->type == 0 ? berth_error (err, EINVAL, "plan: device needs path and type") : 0;
}

int
parse_dev_rule (const struct rec *outer, struct plan_dev_rule *d, berth_error_t *err)
{
  d->type = 'a';
  d->major = d->minor = -1;
  FOR_NESTED (outer, r)
  {
    int ret;
    if (key_is (&r, "allow"))
      ret = parse_bool (&r, &d->allow, err);
    else if (key_is (&r, "type"))
      ret = parse_char (&r, "abc", &d->type, err);
    else if (key_is (&r, "major"))
      ret = parse_i64 (&r, -1, UINT32_MAX, &d->major, err);
    else if (key_is (&r, "minor"))
      ret = parse_i64 (&r, -1, UINT32_MAX, &d->minor, err);
    else if (key_is (&r, "access"))
      ret = str_dup (&r, &d->access, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  if (d->access == NULL || d->access[0] == '\0' || strspn (d->access, "rwm") != strlen (d->access))
    return berth_error (err, EINVAL, "plan: device rule access must be of rwm");
  return 0;
}

int
parse_kv (const struct rec *outer, struct plan_kv *kv, berth_error_t *err)
{
  FOR_NESTED (outer, r)
  {
    int ret;
    if (key_is (&r, "key"))
      ret = str_dup (&r, &kv->key, err);
    else if (key_is (&r, "value"))
      ret = str_dup (&r, &kv->value, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  if (kv->key == NULL || kv->value == NULL || kv->key[0] == '\0' || strstr (kv->key, "..") || strchr (kv->key, '/'))
    return berth_error (err, EINVAL, "plan: bad sysctl");
  return 0;
}

int
parse_rlimit (const struct rec *outer, struct plan_rlimit *rl, berth_error_t *err)
{
  int64_t t = -1;
  FOR_NESTED (outer, r)
  {
    int ret;
    if (key_is (&r, "type"))
      ret = parse_i64 (&r, 0, 15, &t, err);
    else if (key_is (&r, "soft"))
      ret = parse_u64 (&r, &rl->soft, err);
    else if (key_is (&r, "hard"))
      ret = parse_u64 (&r, &rl->hard, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  if (t < 0)
    return berth_error (err, EINVAL, "plan: rlimit without type");
  rl->type = (int) t;
  return 0;
}

int
parse_stdio (const struct rec *outer, struct plan_stdio *s, berth_error_t *err)
{
  FOR_NESTED (outer, r)
  {
    int ret = 0;
    if (key_is (&r, "kind"))
      {
        if (r.vlen == 4 && memcmp (r.val, "fifo", 4) == 0)
          s->kind = STDIO_FIFO;
        else if (r.vlen == 4 && memcmp (r.val, "file", 4) == 0)
          s->kind = STDIO_FILE;
        else if (r.vlen == 4 && memcmp (r.val, "null", 4) == 0)
          s->kind = STDIO_NULL;
        else
          ret = berth_error (err, EINVAL, "plan: bad stdio kind");
      }
    else if (key_is (&r, "path"))
      ret = path_dup (&r, &s->path, err);
    else
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  if (s->kind != STDIO_NULL && s->path == NULL)
    return berth_error (err, EINVAL, "plan: stdio needs a path");
  return 0;
}

int
parse_cgroup_path (const struct rec *r, char **out, berth_error_t *err)
{
  char *s;
  if (str_dup (r, out, err) < 0)
    return -1;
  s = *out;
  if (s[0] == '/' || s[0] == '\0' || strcmp (s, "..") == 0 || strncmp (s, "../", 3) == 0 || strstr (s, "/../")
      || (strlen (s) >= 3 && strcmp (s + strlen (s) - 3, "/..") == 0) || strstr (s, "//"))
    return berth_error (err, EINVAL, "plan: cgroup_path `%s` must be relative without `..`", s);
  return 0;
}

