/* A minimal rtnetlink client: one request at a time, each acknowledged. */
#ifndef BERTH_VETH_NL_H
#define BERTH_VETH_NL_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdint.h>

struct nlreq
{
  struct nlmsghdr *h;
  size_t cap;
  char buf[1024];
};

/* A NETLINK_ROUTE socket in the caller's network namespace (it stays there after a setns). */
int nl_open (void);
/* Starts a request of `type` with `flags` (NLM_F_REQUEST|NLM_F_ACK added) and a zeroed body of `len` bytes. */
void *nl_begin (struct nlreq *r, uint16_t type, uint16_t flags, size_t len);
/* Appends an attribute; returns it (for nesting) or NULL when the request is full. */
struct rtattr *nl_attr (struct nlreq *r, uint16_t type, const void *data, size_t len);
/* Appends bytes that are not an attribute (a nested ifinfomsg). */
int nl_raw (struct nlreq *r, const void *data, size_t len);
struct rtattr *nl_nest (struct nlreq *r, uint16_t type);
void nl_nest_end (struct nlreq *r, struct rtattr *nest);
/* Sends the request and waits for its acknowledgement: 0, or -errno from the kernel. */
int nl_call (int fd, struct nlreq *r);

#include <netinet/in.h>

/* Requests of their own: 0, or -errno. */
/* The link up; with `master` non-zero, on that bridge too. */
int link_set (int fd, int index, int master);
int link_del (int fd, int index);
/* IPv4 address/prefix (and its broadcast) on the link. */
int addr_add (int fd, int index, struct in_addr a, int prefix);
/* The default route through `gw` on the link. */
int default_route (int fd, int index, struct in_addr gw);

#endif
