#include "caps.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
capset_raw (const struct plan *p, berth_error_t *err)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t) (p->caps[CAP_SET_EFFECTIVE] >> (32 * i));
      data[i].permitted = (uint32_t) (p->caps[CAP_SET_PERMITTED] >> (32 * i));
      data[i].inheritable = (uint32_t) (p->caps[CAP_SET_INHERITABLE] >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return berth_error (err, errno, "capset");
  return 0;
}

int
caps_apply (const struct plan *p, unsigned last_cap, berth_error_t *err)
{
  if (p->has_caps)
    for (unsigned c = 0; c <= last_cap && c < 64; c++)
      if (!(p->caps[CAP_SET_BOUNDING] & (1ULL << c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        return berth_error (err, errno, "drop capability %u from the bounding set", c);
  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return berth_error (err, errno, "keepcaps");
  if (setgroups (p->n_gids, (const gid_t *) p->gids) < 0 && !(errno == EPERM && p->n_gids == 0))
    return berth_error (err, errno, "setgroups");
  if (setresgid (p->gid, p->gid, p->gid) < 0)
    return berth_error (err, errno, "setgid %u", p->gid);
  if (setresuid (p->uid, p->uid, p->uid) < 0)
    return berth_error (err, errno, "setuid %u", p->uid);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return berth_error (err, errno, "keepcaps");
  if (p->has_caps)
    {
      if (capset_raw (p, err) < 0)
        return -1;
      if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return berth_error (err, errno, "clear ambient capabilities");
      for (unsigned c = 0; c <= last_cap && c < 64; c++)
        if ((p->caps[CAP_SET_AMBIENT] & (1ULL << c)) && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
          return berth_error (err, errno, "raise ambient capability %u", c);
    }
  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return berth_error (err, errno, "no_new_privs");
  return 0;
}

int
exec_process (const struct plan *p, berth_error_t *err)
{
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const char *arg0 = p->args[0];
  int saved = ENOENT;
  char full[4096];

  if (strchr (arg0, '/') != NULL)
    {
      execve (arg0, p->args, p->env);
      return berth_error (err, errno, "exec `%s`", arg0);
    }
  for (size_t i = 0; i < p->n_env; i++)
    if (strncmp (p->env[i], "PATH=", 5) == 0)
      path = p->env[i] + 5;
  while (*path != '\0')
    {
      const char *end = strchrnul (path, ':');
      size_t len = (size_t) (end - path);
      snprintf (full, sizeof (full), "%.*s%s%s", (int) len, path, len ? "/" : "", arg0);
      execve (full, p->args, p->env);
      if (errno != ENOENT && errno != ENOTDIR)
        saved = errno;
      path = *end ? end + 1 : end;
    }
  return berth_error (err, saved, "exec `%s`: not found in PATH", arg0);
}
