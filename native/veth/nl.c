/* A minimal rtnetlink client (nl.h). */
#include "nl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
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

int
link_set (int fd, int index, int master)
{
  struct nlreq r;
  struct ifinfomsg *i = nl_begin (&r, RTM_NEWLINK, 0, sizeof (*i));
  i->ifi_family = AF_UNSPEC;
  i->ifi_index = index;
  i->ifi_flags = IFF_UP;
  i->ifi_change = IFF_UP;
  if (master)
    nl_attr (&r, IFLA_MASTER, &master, sizeof (master));
  return nl_call (fd, &r);
}

int
link_del (int fd, int index)
{
  struct nlreq r;
  struct ifinfomsg *i = nl_begin (&r, RTM_DELLINK, 0, sizeof (*i));
  i->ifi_family = AF_UNSPEC;
  i->ifi_index = index;
  return nl_call (fd, &r);
}

int
addr_add (int fd, int index, struct in_addr a, int prefix)
{
  struct nlreq r;
  struct ifaddrmsg *m = nl_begin (&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof (*m));
  m->ifa_family = AF_INET;
  m->ifa_prefixlen = (unsigned char) prefix;
  m->ifa_index = (unsigned int) index;
  m->ifa_scope = RT_SCOPE_UNIVERSE;
  nl_attr (&r, IFA_LOCAL, &a, sizeof (a));
  nl_attr (&r, IFA_ADDRESS, &a, sizeof (a));
  if (prefix < 31)
    {
      struct in_addr brd = { .s_addr = a.s_addr | htonl (0xffffffffu >> prefix) };
      nl_attr (&r, IFA_BROADCAST, &brd, sizeof (brd));
    }
  return nl_call (fd, &r);
}

int
default_route (int fd, int index, struct in_addr gw)
{
  struct nlreq r;
  struct rtmsg *m = nl_begin (&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof (*m));
  m->rtm_family = AF_INET;
  m->rtm_table = RT_TABLE_MAIN;
  m->rtm_protocol = RTPROT_BOOT;
  m->rtm_scope = RT_SCOPE_UNIVERSE;
  m->rtm_type = RTN_UNICAST;
  nl_attr (&r, RTA_GATEWAY, &gw, sizeof (gw));
  nl_attr (&r, RTA_OIF, &index, sizeof (index));
  return nl_call (fd, &r);
}
