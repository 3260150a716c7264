/*
 * Container network links (net-link.c): the address pool that gives each
 * container link its addresses, and the rtnetlink operations cmld needs to
 * build and tear down a link between c0's network namespace and a
 * container's (a veth pair, addresses, routes, forwarding) and to hand a
 * whole interface to a container and take it back.
 *
 * Every operation is one synchronous request and its ACK on a NETLINK_ROUTE
 * socket that belongs to one network namespace (net_nl_open); nothing
 * here forks, starts threads or runs `ip`.  Every failure returns -1 with
 * a cause that names the operation and the kernel's errno text (and the
 * kernel's own message, when it sends one).
 */
#ifndef CMLD_NET_LINK_H
#define CMLD_NET_LINK_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;
struct net_nl;

/* Room for an address with its prefix as text ("ffff:...:ffff/128"). */
#define NET_ADDR_STRLEN (INET6_ADDRSTRLEN + 4)
/* The prefix length of a link's IPv4 subnet: c0, container, broadcast. */
#define NET_LINK_V4_PREFIX 30
/* A link's IPv6 subnet: /64, or /126 when the pool is longer than /64. */
#define NET_LINK_V6_PREFIX 64
#define NET_LINK_V6_PREFIX_SMALL 126

/* An IPv4 or IPv6 address with a prefix length. */
struct net_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
	unsigned int prefix; /* 0..32 or 0..128 */
};

/*
 * The configured prefixes links get their addresses from; either family
 * may be absent, not both.  size is how many links the pool holds (the
 * smaller of the two families' counts, capped at NET_POOL_MAX).
 */
struct net_pool {
	int has_v4;
	int has_v6;
	struct net_addr v4; /* the IPv4 pool, host bits zero */
	struct net_addr v6; /* the IPv6 pool, host bits zero */
	unsigned int v6_link_prefix; /* 64 or 126 */
	uint32_t size;
};
#define NET_POOL_MAX 65536u

/* The addresses of one link: c0's end and the container's end. */
struct net_lease {
	int has_v4;
	int has_v6;
	struct net_addr c0_v4, ctr_v4;
	struct net_addr c0_v6, ctr_v6;
};

/*
 * Parses "ADDR" or "ADDR/PREFIX" (IPv4 or IPv6) into a; without a prefix
 * the address's full length is taken, unless need_prefix, which makes a
 * missing prefix an error.  0, or -1 with a cause.
 */
int net_addr_parse(
    const char *s, int need_prefix, struct net_addr *a, char **cause);
/* Writes a as "ADDR/PREFIX" into buf (len bytes); -1 if it does not fit. */
int net_addr_format(const struct net_addr *a, char *buf, size_t len);

/*
 * Sets up pool from an IPv4 prefix (e.g. "10.200.0.0/16", at most /30)
 * and an IPv6 prefix (e.g. "fd00:c41::/48", at most /126); either may be
 * NULL, not both.  Host bits must be zero.  0, or -1 with a cause.
 */
int net_pool_init(
    struct net_pool *pool, const char *v4, const char *v6, char **cause);
/*
 * The addresses of the link of the container with the given index: the
 * index-th /30 of the IPv4 pool (c0 .1, container .2) and the index-th
 * /64 (or /126) of the IPv6 pool (c0 ::1, container ::2).  The same index
 * always gives the same addresses and different indices never overlap.
 * 0, or -1 with a cause when index is beyond the pool.
 */
int net_pool_lease(const struct net_pool *pool, uint32_t index,
    struct net_lease *lease, char **cause);

/* 1 when name can name a network interface (1..15 bytes, no '/', ':' or
 * white space, not "." or ".."), else 0. */
int net_link_name_ok(const char *name);

/*
 * Opens a NETLINK_ROUTE socket in the network namespace nsfd refers to
 * (-1: the caller's).  The calling thread enters that namespace only to
 * create the socket and returns at once (it exits cmld if it cannot
 * return, rather than go on in the wrong namespace).  NULL with a cause.
 */
struct net_nl *net_nl_open(int nsfd, char **cause);
/* Closes the socket; NULL does nothing. */
void net_nl_close(struct net_nl *nl);

/*
 * The index of the link name in nl's namespace: > 0, 0 when there is no
 * such link, -1 with a cause on any other failure.
 */
int net_link_index(struct net_nl *nl, const char *name, char **cause);
/*
 * The names of the links in nl's namespace that begin with prefix ("" for
 * all), in the kernel's order, as a NULL-terminated array in *names (free
 * it with net_link_names_free) and their count in *n: how cmld finds the
 * links it made before a restart.  0, or -1 with a cause.
 */
int net_link_list(struct net_nl *nl, const char *prefix, char ***names,
    size_t *n, char **cause);
/* Frees what net_link_list gave; NULL does nothing. */
void net_link_names_free(char **names);
/*
 * Creates a veth pair: name in nl's namespace and peer in the namespace
 * peer_nsfd refers to (-1: nl's).  Both ends down.  0, or -1 with a
 * cause (nothing created then).
 */
int net_link_add_veth(struct net_nl *nl, const char *name, const char *peer,
    int peer_nsfd, char **cause);
/* Deletes the link name (a veth's peer goes with it); 0, or -1 with a
 * cause. */
int net_link_del(struct net_nl *nl, const char *name, char **cause);
/* Sets the link name up; 0, or -1 with a cause. */
int net_link_up(struct net_nl *nl, const char *name, char **cause);
/*
 * Moves the link name out of nl's namespace into the one nsfd refers to
 * (interface assignment and its return); the link arrives down and
 * without addresses.  0, or -1 with a cause.
 */
int net_link_move(struct net_nl *nl, const char *name, int nsfd, char **cause);
/* Adds address a (with its prefix) to the link name, usable at once (no
 * duplicate address detection).  0, or -1 with a cause. */
int net_link_add_addr(struct net_nl *nl, const char *name,
    const struct net_addr *a, char **cause);
/* Adds a default route of gw's family via gw in nl's namespace; 0, or -1
 * with a cause. */
int net_link_add_default_route(
    struct net_nl *nl, const struct net_addr *gw, char **cause);
/*
 * Turns IP forwarding of family (AF_INET: net.ipv4.ip_forward, AF_INET6:
 * net.ipv6.conf.all.forwarding) on or off in the namespace nsfd refers to
 * (-1: the caller's), through that namespace's /proc/sys/net.  0, or -1
 * with a cause.
 */
int net_link_forwarding(int nsfd, int family, int on, char **cause);

/*
 * Connects a container: creates the veth pair c0_name (in c0's namespace,
 * through c0) / ctr_name (in the container's, ctr_nsfd, through ctr),
 * gives both ends lease's addresses, sets them up and adds the container's
 * default routes via c0's addresses.  On any failure the pair is deleted
 * again, so nothing is left.  0, or -1 with a cause.
 */
int net_link_connect(struct net_nl *c0, struct net_nl *ctr, int ctr_nsfd,
    const char *c0_name, const char *ctr_name, const struct net_lease *lease,
    char **cause);
/* Removes a container's link by c0's end; 0 also when it is gone already
 * (a stop after a crash), -1 with a cause. */
int net_link_disconnect(struct net_nl *c0, const char *c0_name, char **cause);

/*
 * The requests, built into buf (len bytes) with sequence number seq and
 * returned, or NULL when they do not fit or a name is invalid.  Exposed
 * so that their layout can be tested without a kernel.
 */
/* RTM_NEWLINK creating a veth pair (see net_link_add_veth). */
struct nlmsghdr *net_link_msg_veth(void *buf, size_t len, uint32_t seq,
    const char *name, const char *peer, int peer_nsfd);
/*
 * A request about the link name: type RTM_GETLINK, RTM_DELLINK, or
 * RTM_NEWLINK setting it up (up != 0) and, when nsfd != -1, moving it to
 * the namespace nsfd refers to.
 */
struct nlmsghdr *net_link_msg_link(void *buf, size_t len, uint32_t seq,
    uint16_t type, const char *name, int up, int nsfd);
/* RTM_NEWADDR adding a to the link with index ifindex. */
struct nlmsghdr *net_link_msg_addr(
    void *buf, size_t len, uint32_t seq, int ifindex, const struct net_addr *a);
/* RTM_NEWROUTE adding a default route via gw in the main table. */
struct nlmsghdr *net_link_msg_route(
    void *buf, size_t len, uint32_t seq, const struct net_addr *gw);

#endif
