/* Plan keys of the capture mode (PROTOCOL.md "Capture, logs and attach"): the monitor holds the
 * process's stdio itself, writes stdout/stderr to a json-file log and serves attachers. */
#include "plan_internal.h"

#include <errno.h>
#include <stdint.h>

int
plan_parse_capture_key (const void *rec, struct plan *p, berth_error_t *err)
{
  const struct rec *r = rec;
  struct plan_capture *c = &p->capture;
  int64_t v;
  if (key_is (r, "capture"))
    return parse_bool (r, &c->on, err) < 0 ? -1 : 1;
  if (key_is (r, "stdin_open"))
    return parse_bool (r, &c->stdin_open, err) < 0 ? -1 : 1;
  if (key_is (r, "log_path"))
    return path_dup (r, &c->log_path, err) < 0 ? -1 : 1;
  if (key_is (r, "log_max_size"))
    {
      /* 0 = never rotate; Docker's smallest useful size is a few KiB, but any positive value works. */
      if (parse_i64 (r, 0, INT64_MAX, &v, err) < 0)
        return -1;
      c->log_max_size = v;
      return 1;
    }
  if (key_is (r, "log_max_files"))
    {
      if (parse_i64 (r, 1, 1000, &v, err) < 0)
        return -1;
      c->log_max_files = (uint32_t) v;
      return 1;
    }
  return 0;
}

int
plan_check_capture (const struct plan *p, berth_error_t *err)
{
  const struct plan_capture *c = &p->capture;
  if (!c->on)
    {
      if (c->stdin_open || c->log_path != NULL)
        return berth_error (err, EINVAL, "plan: stdin_open and log_path need capture");
      return 0;
    }
  for (int i = 0; i < 3; i++)
    if (p->stdio[i].kind != STDIO_NULL)
      return berth_error (err, EINVAL, "plan: capture holds the stdio itself: stdin, stdout and stderr must be null");
  return 0;
}
