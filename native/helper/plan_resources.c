/* Plan records for resources beyond the flat numbers: a block device's io settings. */
#include "plan_internal.h"

#include <errno.h>

int
parse_io_device (const struct rec *outer, struct plan_io_device *d, berth_error_t *err)
{
  struct { const char *k; int64_t *v; } nums[] = {
    { "weight", &d->weight }, { "rbps", &d->rbps }, { "wbps", &d->wbps }, { "riops", &d->riops }, { "wiops", &d->wiops },
  };
  int has_major = 0, has_minor = 0;
  d->weight = d->rbps = d->wbps = d->riops = d->wiops = -1;
  FOR_NESTED (outer, r)
  {
    int ret = -2;
    if (key_is (&r, "major"))
      ret = parse_u32 (&r, &d->major, err), has_major = 1;
    else if (key_is (&r, "minor"))
      ret = parse_u32 (&r, &d->minor, err), has_minor = 1;
    for (size_t i = 0; ret == -2 && i < sizeof (nums) / sizeof (nums[0]); i++)
      if (key_is (&r, nums[i].k))
        ret = parse_i64 (&r, 0, INT64_MAX, nums[i].v, err);
    if (ret == -2)
      ret = UNKNOWN (r);
    if (ret < 0)
      return -1;
  }
  NESTED_END ();
  if (!has_major || !has_minor)
    return berth_error (err, EINVAL, "plan: io_device needs major and minor");
  return 0;
}
