#include "seccomp.h"

#include <errno.h>
#include <malloc.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
/* The flags a plan may ask for; TSYNC is moot in the single-threaded child, a listener unsupported. */
#define ALLOWED_FLAGS (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW)

int
parse_seccomp (const struct rec *outer, struct plan *p, berth_error_t *err)
{
  struct iter it = { outer->val, outer->val + outer->vlen };
  struct rec r;
  int rc;
  if (p->seccomp_filter != NULL)
    return berth_error (err, EINVAL, "plan: more than one seccomp filter");
  while ((rc = iter_next (&it, &r, err)) > 0)
    {
      if (key_is (&r, "filter"))
        {
          if (r.vlen == 0 || r.vlen % sizeof (struct sock_filter) != 0
              || r.vlen / sizeof (struct sock_filter) > BPF_MAXINSNS)
            return berth_error (err, EINVAL, "plan: seccomp filter of %zu bytes is no BPF program", r.vlen);
          free (p->seccomp_filter);
          if ((p->seccomp_filter = malloc (r.vlen)) == NULL)
            return berth_error (err, ENOMEM, "plan: alloc");
          memcpy (p->seccomp_filter, r.val, r.vlen);
          p->seccomp_len = r.vlen;
        }
      else if (key_is (&r, "flags"))
        {
          if (parse_u32 (&r, &p->seccomp_flags, err) < 0)
            return -1;
          if (p->seccomp_flags & ~ALLOWED_FLAGS)
            return berth_error (err, EINVAL, "plan: seccomp flags %#x not supported", p->seccomp_flags);
        }
      else
        return UNKNOWN (r);
    }
  if (rc < 0)
    return -1;
  return p->seccomp_filter == NULL ? berth_error (err, EINVAL, "plan: seccomp without a filter") : 0;
}

int
seccomp_apply (const struct plan *p, berth_error_t *err)
{
  struct sock_fprog prog;
  if (p->seccomp_filter == NULL)
    return 0;
  prog.len = (unsigned short) (p->seccomp_len / sizeof (struct sock_filter));
  prog.filter = (struct sock_filter *) p->seccomp_filter;
  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog) == 0)
    return 0;
  /* A kernel without LOG or SPEC_ALLOW (before 4.14 / 4.17) gets the filter without them, as crun does. */
  if (errno == EINVAL && p->seccomp_flags != 0 && syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
    return 0;
  return berth_error (err, errno, "load the seccomp filter (%u instructions)", prog.len);
}

void
seccomp_release (struct plan *p)
{
  if (p->seccomp_filter == NULL)
    return;
  free (p->seccomp_filter);
  p->seccomp_filter = NULL;
  p->seccomp_len = 0;
  (void) malloc_trim (0);
}
