/* A minimal rtnetlink client (nl.h). */
#include "nl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
nl_open (void)
{
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return -1;
  if (bind (fd, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  return fd;
}

void *
nl_begin (struct nlreq *r, uint16_t type, uint16_t flags, size_t len)
{
  memset (r->buf, 0, sizeof (r->buf));
  r->cap = sizeof (r->buf);
  r->h = (struct nlmsghdr *) r->buf;
  r->h->nlmsg_len = NLMSG_LENGTH (len);
  r->h->nlmsg_type = type;
  r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return NLMSG_DATA (r->h);
}

struct rtattr *
nl_attr (struct nlreq *r, uint16_t type, const void *data, size_t len)
{
  size_t at = NLMSG_ALIGN (r->h->nlmsg_len);
  struct rtattr *a = (struct rtattr *) (r->buf + at);
  if (at + RTA_SPACE (len) > r->cap)
    return NULL;
  a->rta_type = type;
  a->rta_len = (unsigned short) RTA_LENGTH (len);
  if (len)
    memcpy (RTA_DATA (a), data, len);
  r->h->nlmsg_len = (uint32_t) (at + RTA_SPACE (len));
  return a;
}

int
nl_raw (struct nlreq *r, const void *data, size_t len)
{
  size_t at = NLMSG_ALIGN (r->h->nlmsg_len);
  if (at + NLMSG_ALIGN (len) > r->cap)
    return -1;
  memcpy (r->buf + at, data, len);
  r->h->nlmsg_len = (uint32_t) (at + NLMSG_ALIGN (len));
  return 0;
}

struct rtattr *
nl_nest (struct nlreq *r, uint16_t type)
{
  return nl_attr (r, type, NULL, 0);
}

void
nl_nest_end (struct nlreq *r, struct rtattr *nest)
{
  nest->rta_len = (unsigned short) (r->buf + r->h->nlmsg_len - (char *) nest);
}

int
nl_call (int fd, struct nlreq *r)
{
  static uint32_t seq;
  char reply[4096];
  struct sockaddr_nl to = { .nl_family = AF_NETLINK };
  r->h->nlmsg_seq = ++seq;
  if (sendto (fd, r->buf, r->h->nlmsg_len, 0, (struct sockaddr *) &to, sizeof (to)) < 0)
    return -errno;
  for (;;)
    {
      ssize_t n = recv (fd, reply, sizeof (reply), 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      int len = (int) n;
      for (struct nlmsghdr *h = (struct nlmsghdr *) reply; NLMSG_OK (h, len); h = NLMSG_NEXT (h, len))
        {
          if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
            continue;
          return ((struct nlmsgerr *) NLMSG_DATA (h))->error;
        }
    }
}
