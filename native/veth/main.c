/* berth-veth: a container's end of one of berthd's bridge networks, over rtnetlink. It does what
 * the CNI bridge plugin's ADD and DEL do inside and beside the namespace for the config lists
 * berthd writes (bridge + host-local; berthd allocates the address itself, in host-local's
 * files), in one short process instead of two Go ones:
 *
 *   berth-veth add bridge=NAME netns=PATH ifname=NAME address=A.B.C.D/P mac=XX:XX:XX:XX:XX:XX
 *                  [gateway=A.B.C.D] [route=1] [mtu=N] [hairpin=1]
 *       the bridge (made if missing, up; with gateway= it carries gateway/P and the host
 *       forwards IPv4), a veth pair whose peer is IFNAME in the namespace with address and mac,
 *       the host end on the bridge and up, IFNAME up, and with route=1 a default route through
 *       the gateway. Prints `host NAME MAC` and `bridge MAC`. A failure removes the pair.
 *   berth-veth del netns=PATH ifname=NAME
 *       removes IFNAME (and so its peer); a namespace or interface already gone is success.
 *   berth-veth del-port NAME...
 *       removes host links that are bridge ports (a veth's host end, and so its peer); a link
 *       already gone is success, one that is no bridge port is left alone (exit 1).
 *
 * Errors: one line on stderr, exit 1; bad arguments exit 2. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "nl.h"

static void
fail (const char *what, int err)
{
  fprintf (stderr, "berth-veth: %s: %s\n", what, strerror (err));
  exit (1);
}

static void
usage (const char *msg)
{
  fprintf (stderr, "berth-veth: %s\n", msg);
  exit (2);
}

static const char *
opt (int argc, char **argv, const char *key)
{
  size_t l = strlen (key);
  for (int i = 2; i < argc; i++)
    if (strncmp (argv[i], key, l) == 0 && argv[i][l] == '=')
      return argv[i] + l + 1;
  return NULL;
}

static const char *
need (int argc, char **argv, const char *key)
{
  const char *v = opt (argc, argv, key);
  if (v == NULL || *v == '\0')
    {
      fprintf (stderr, "berth-veth: missing %s=\n", key);
      exit (2);
    }
  return v;
}

static void
ifname_ok (const char *name)
{
  if (strlen (name) >= IFNAMSIZ || strpbrk (name, "/: \t\n") != NULL)
    usage ("bad interface name");
}

static void
parse_cidr (const char *s, struct in_addr *a, int *prefix)
{
  char buf[32], *slash, *end;
  long p;
  if (strlen (s) >= sizeof (buf))
    usage ("bad address");
  strcpy (buf, s);
  slash = strchr (buf, '/');
  if (slash == NULL)
    usage ("address wants /prefix");
  *slash = '\0';
  p = strtol (slash + 1, &end, 10);
  if (*end != '\0' || p < 1 || p > 32 || inet_pton (AF_INET, buf, a) != 1)
    usage ("bad address");
  *prefix = (int) p;
}

static void
parse_mac (const char *s, unsigned char mac[6])
{
  unsigned int b[6];
  char tail;
  if (sscanf (s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    usage ("bad mac");
  for (int i = 0; i < 6; i++)
    mac[i] = (unsigned char) b[i];
}

static void
random_mac (unsigned char mac[6])
{
  if (getrandom (mac, 6, 0) != 6)
    fail ("getrandom", errno);
  mac[0] = (unsigned char) ((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

/* A line of /sys/class/net/NAME/FILE (sysfs shows the namespace it was mounted in: the host's). */
static void
sysfs_read (const char *name, const char *file, char *out, size_t len)
{
  char path[128];
  ssize_t n;
  int fd;
  snprintf (path, sizeof (path), "/sys/class/net/%s/%s", name, file);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  n = fd < 0 ? -1 : read (fd, out, len - 1);
  if (fd >= 0)
    close (fd);
  if (n < 0)
    n = 0;
  out[n] = '\0';
  out[strcspn (out, "\n")] = '\0';
}

static int
write_file (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  ssize_t n;
  if (fd < 0)
    return -errno;
  n = write (fd, text, strlen (text));
  close (fd);
  return n < 0 ? -errno : 0;
}

/* The bridge, made if missing (with a MAC of its own, so that it does not change with its ports), up. */
static int
ensure_bridge (int fd, const char *name, int mtu)
{
  char is[8];
  int idx = (int) if_nametoindex (name), e;
  if (idx == 0)
    {
      struct nlreq r;
      struct rtattr *info;
      unsigned char mac[6];
      struct ifinfomsg *i = nl_begin (&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof (*i));
      i->ifi_family = AF_UNSPEC;
      random_mac (mac);
      nl_attr (&r, IFLA_IFNAME, name, strlen (name) + 1);
      nl_attr (&r, IFLA_ADDRESS, mac, sizeof (mac));
      if (mtu > 0)
        nl_attr (&r, IFLA_MTU, &mtu, sizeof (mtu));
      info = nl_nest (&r, IFLA_LINKINFO);
      nl_attr (&r, IFLA_INFO_KIND, "bridge", 6);
      nl_nest_end (&r, info);
      e = nl_call (fd, &r);
      if (e < 0 && e != -EEXIST)
        fail ("creating the bridge", -e);
      idx = (int) if_nametoindex (name);
      if (idx == 0)
        fail ("the bridge", ENODEV);
    }
  sysfs_read (name, "bridge/stp_state", is, sizeof (is));
  if (is[0] == '\0')
    {
      fprintf (stderr, "berth-veth: %s exists but is not a bridge\n", name);
      exit (1);
    }
  e = link_set (fd, idx, 0);
  if (e < 0)
    fail ("setting the bridge up", -e);
  return idx;
}

/* A veth pair: `host` here, `peer` (with `mac`) in the namespace of nsfd. */
static int
veth_add (int fd, const char *host, const char *peer, int nsfd, const unsigned char mac[6], int mtu)
{
  struct nlreq r;
  struct rtattr *info, *data, *pn;
  struct ifinfomsg pi = { .ifi_family = AF_UNSPEC };
  uint32_t ns = (uint32_t) nsfd;
  struct ifinfomsg *i = nl_begin (&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof (*i));
  i->ifi_family = AF_UNSPEC;
  nl_attr (&r, IFLA_IFNAME, host, strlen (host) + 1);
  if (mtu > 0)
    nl_attr (&r, IFLA_MTU, &mtu, sizeof (mtu));
  info = nl_nest (&r, IFLA_LINKINFO);
  nl_attr (&r, IFLA_INFO_KIND, "veth", 4);
  data = nl_nest (&r, IFLA_INFO_DATA);
  pn = nl_nest (&r, VETH_INFO_PEER);
  nl_raw (&r, &pi, sizeof (pi));
  nl_attr (&r, IFLA_IFNAME, peer, strlen (peer) + 1);
  nl_attr (&r, IFLA_NET_NS_FD, &ns, sizeof (ns));
  nl_attr (&r, IFLA_ADDRESS, mac, 6);
  if (mtu > 0)
    nl_attr (&r, IFLA_MTU, &mtu, sizeof (mtu));
  nl_nest_end (&r, pn);
  nl_nest_end (&r, data);
  nl_nest_end (&r, info);
  return nl_call (fd, &r);
}

static int
cmd_add (int argc, char **argv)
{
  const char *bridge = need (argc, argv, "bridge"), *netns = need (argc, argv, "netns"), *ifname = need (argc, argv, "ifname");
  const char *gwarg = opt (argc, argv, "gateway"), *mtuarg = opt (argc, argv, "mtu"), *route = opt (argc, argv, "route");
  const char *hairpin = opt (argc, argv, "hairpin");
  struct in_addr addr, gw = { 0 };
  unsigned char mac[6];
  char host[IFNAMSIZ], hostmac[32], brmac[32], path[96];
  int prefix, mtu = mtuarg ? atoi (mtuarg) : 0, fd, nsfd, br, hidx = 0, cfd, cidx, e = -EEXIST;

  ifname_ok (bridge);
  ifname_ok (ifname);
  parse_cidr (need (argc, argv, "address"), &addr, &prefix);
  parse_mac (need (argc, argv, "mac"), mac);
  if (gwarg && inet_pton (AF_INET, gwarg, &gw) != 1)
    usage ("bad gateway");
  if (route && strcmp (route, "1") == 0 && !gwarg)
    usage ("route=1 wants gateway=");
  if (mtu < 0 || mtu > 65535)
    usage ("bad mtu");

  nsfd = open (netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    fail (netns, errno);
  fd = nl_open ();
  if (fd < 0)
    fail ("netlink", errno);
  br = ensure_bridge (fd, bridge, mtu);
  if (gwarg)
    {
      e = addr_add (fd, br, gw, prefix);
      if (e < 0 && e != -EEXIST)
        fail ("the gateway address on the bridge", -e);
      e = write_file ("/proc/sys/net/ipv4/ip_forward", "1");
      if (e < 0)
        fail ("net.ipv4.ip_forward", -e);
    }

  for (int tries = 0; tries < 8; tries++)
    {
      unsigned char rnd[4];
      if (getrandom (rnd, sizeof (rnd), 0) != sizeof (rnd))
        fail ("getrandom", errno);
      snprintf (host, sizeof (host), "veth%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
      e = veth_add (fd, host, ifname, nsfd, mac, mtu);
      if (e != -EEXIST || if_nametoindex (host) == 0)
        break; /* EEXIST for a free host name: the namespace has ifname already */
    }
  if (e == -EEXIST)
    {
      fprintf (stderr, "berth-veth: %s already exists in the namespace\n", ifname);
      exit (1);
    }
  if (e < 0)
    fail ("creating the veth pair", -e);
  hidx = (int) if_nametoindex (host);
  if (hidx == 0)
    fail ("the veth's host end", ENODEV);
  e = link_set (fd, hidx, br);
  if (e < 0)
    goto undo;
  if (hairpin && strcmp (hairpin, "1") == 0)
    {
      snprintf (path, sizeof (path), "/sys/class/net/%s/brport/hairpin_mode", host);
      e = write_file (path, "1");
      if (e < 0)
        goto undo;
    }
  sysfs_read (host, "address", hostmac, sizeof (hostmac));
  sysfs_read (bridge, "address", brmac, sizeof (brmac));

  if (setns (nsfd, CLONE_NEWNET) < 0)
    {
      e = -errno;
      goto undo;
    }
  cfd = nl_open ();
  cidx = cfd < 0 ? 0 : (int) if_nametoindex (ifname);
  e = cfd < 0 || cidx == 0 ? -errno : addr_add (cfd, cidx, addr, prefix);
  if (e == 0)
    e = link_set (cfd, cidx, 0);
  if (e == 0 && route && strcmp (route, "1") == 0)
    e = default_route (cfd, cidx, gw);
  if (e < 0)
    goto undo;
  printf ("host %s %s\nbridge %s\n", host, hostmac, brmac);
  return 0;

undo:
  /* fd was opened on the host: deleting the host end there takes the peer with it. */
  (void) link_del (fd, hidx);
  fail ("configuring the veth pair", e < 0 ? -e : EIO);
  return 1;
}

static int
cmd_del (int argc, char **argv)
{
  const char *netns = need (argc, argv, "netns"), *ifname = need (argc, argv, "ifname");
  int nsfd, fd, idx, e;
  ifname_ok (ifname);
  nsfd = open (netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 && errno == ENOENT)
    return 0;
  if (nsfd < 0)
    fail (netns, errno);
  if (setns (nsfd, CLONE_NEWNET) < 0)
    {
      if (errno == EINVAL)
        return 0; /* the mount point of a namespace already unmounted */
      fail ("entering the namespace", errno);
    }
  fd = nl_open ();
  if (fd < 0)
    fail ("netlink", errno);
  idx = (int) if_nametoindex (ifname);
  if (idx == 0)
    return 0;
  e = link_del (fd, idx);
  if (e < 0 && e != -ENODEV)
    fail ("deleting the interface", -e);
  return 0;
}

/* The kernel unregisters the link (it leaves /sys at once) before this returns: the call then
   waits out an RCU barrier, which berthd does not wait for. */
static int
cmd_del_port (int argc, char **argv)
{
  char is[8];
  int fd = nl_open (), rc = 0;
  if (fd < 0)
    fail ("netlink", errno);
  for (int i = 2; i < argc; i++)
    {
      int idx, e;
      ifname_ok (argv[i]);
      idx = (int) if_nametoindex (argv[i]);
      if (idx == 0)
        continue;
      sysfs_read (argv[i], "brport/state", is, sizeof (is));
      if (is[0] == '\0')
        {
          fprintf (stderr, "berth-veth: %s is not a bridge port\n", argv[i]);
          rc = 1;
          continue;
        }
      e = link_del (fd, idx);
      if (e < 0 && e != -ENODEV)
        fail (argv[i], -e);
    }
  return rc;
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "add") == 0)
    return cmd_add (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "del") == 0)
    return cmd_del (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "del-port") == 0)
    return cmd_del_port (argc, argv);
  usage ("usage: berth-veth add|del key=value... | del-port NAME...");
  return 2;
}
