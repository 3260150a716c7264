/*
 * The firewall of the container links: cmld's own nftables table "inet cml"
 * in c0's network namespace, written through libnftnl, one transaction
 * (an nfnetlink batch) per change.  No other table is ever read or written.
 *
 * The table holds base chains "forward" (policy drop), "input" and "output"
 * (policy accept, but what arrives on or leaves through a container link is
 * dropped unless that container's chain accepts it), and the nat chains
 * "prerouting" (port forwards) and "postrouting" (masquerade through the
 * uplinks).  Each container with a link has a regular chain "ctr-<id>",
 * reached from the base chains by the name of its link, which holds its
 * allowances and ends with a drop.  Traffic between two container links is
 * dropped before any container's chain is asked (TSF.ISOL).  The rules are
 * kernel state: they stay when cmld dies.
 */
#ifndef CML_NET_FW_H
#define CML_NET_FW_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"

struct json_object;
struct nftnl_rule;

/* cmld's own table, family inet. */
#define NET_FW_TABLE "cml"
/* A container's chain is this prefix and the container's id. */
#define NET_FW_CHAIN_PREFIX "ctr-"
/* The longest container id: a container's name (common/names.h). */
#define NET_FW_ID_MAX NAMES_CONTAINER_MAX
/* The longest interface name (IFNAMSIZ less its NUL). */
#define NET_FW_IFNAME_MAX NAMES_IFNAME_MAX

/* An IPv4 or IPv6 address prefix: the address and its length in bits. */
struct net_fw_prefix {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned int len;
};

/* A protocol and a port: proto 0 is any protocol (then port must be 0),
 * else IPPROTO_TCP or IPPROTO_UDP with a port (0: any port). */
struct net_fw_port {
	int proto;
	uint16_t port;
};

/* An egress allowance: the container may open connections to dst (and the
 * port) leaving c0 through the uplink. */
struct net_fw_egress {
	const char *uplink;
	struct net_fw_prefix dst;
	struct net_fw_port port;
};

/* An ingress port forward: port.port of port.proto arriving on the uplink
 * goes to the container's address to_addr (a full-length prefix) at
 * to_port (0: the same port). */
struct net_fw_forward {
	const char *uplink;
	struct net_fw_port port;
	struct net_fw_prefix to_addr;
	uint16_t to_port;
};

/* What a container's link may do: its id, the c0 side of its link, and its
 * allowances.  Management ports are what c0 itself may reach in it. */
struct net_fw_ctr {
	const char *id;
	const char *link;
	const struct net_fw_egress *egress;
	size_t negress;
	const struct net_fw_forward *forward;
	size_t nforward;
	const struct net_fw_port *mgmt;
	size_t nmgmt;
};

/* The base ruleset: every container link's name starts with link_prefix
 * (what arrives on or leaves through such a link and no container's chain
 * accepts is dropped); what is forwarded out of the masquerade uplinks
 * leaves with the uplink's address; c0 itself takes on a guarded uplink
 * only its listed ports. */
struct net_fw_base {
	const char *link_prefix;
	const char *const *masquerade;
	size_t nmasquerade;
	/* Uplinks guarded for c0 itself: what arrives on one for c0 is
	 * dropped unless it answers c0's own traffic, is IPv6 neighbour or
	 * router discovery, or goes to one of c0_ports (any protocol and port
	 * is refused there). */
	const char *const *guard;
	size_t nguard;
	const struct net_fw_port *c0_ports;
	size_t nc0_ports;
};

struct net_fw;

/* Opens a netfilter netlink socket in the network namespace of netns_fd (-1:
 * the caller's own); NULL with a cause on failure. */
struct net_fw *net_fw_open(int netns_fd, char **cause);
/* Closes the socket; the rules stay.  NULL does nothing. */
void net_fw_close(struct net_fw *fw);

/* Replaces table inet cml with the base ruleset in one transaction (every
 * container's chain goes with the old table); -1 with a cause, the old table
 * unchanged, on failure. */
int net_fw_base_install(struct net_fw *fw, const struct net_fw_base *base,
    char **cause);
/* Adds a container's chain and its rules in one transaction; -1 with a cause
 * naming the rule on failure, and then nothing of it is in the kernel. */
int net_fw_ctr_add(struct net_fw *fw, const struct net_fw_ctr *ctr,
    char **cause);
/* Removes a container's chain and the base chains' rules for it in one
 * transaction; 0 also when it had none; -1 with a cause on failure. */
int net_fw_ctr_remove(struct net_fw *fw, const char *id, char **cause);
/* Sets *ids to the ids of the containers that have a chain (for orphans
 * after a restart), *n to their number; -1 with a cause on failure. */
int net_fw_ctr_ids(struct net_fw *fw, char ***ids, size_t *n, char **cause);
/* Returns the table's chains and rules as read back from the kernel (JSON:
 * {"table","chains":[{"name","hook","priority","policy","rules":[{"handle",
 * "comment","expr","raw"}]}]}: expr as `nft list` shows the rule, what it
 * cannot say left as libnftnl prints it, and raw all as libnftnl prints it),
 * or NULL with a cause; "chains" is empty when the table does not exist. */
struct json_object *net_fw_list(struct net_fw *fw, char **cause);

/* Checks a container's rules as net_fw_ctr_add does before it sends
 * anything; -1 with a cause naming the bad allowance. */
int net_fw_ctr_check(const struct net_fw_ctr *ctr, char **cause);
/* Returns what net_fw_ctr_add would send, one line per message (chain,
 * comment, expressions), or NULL with a cause; for tests and debugging. */
char *net_fw_ctr_plan(const struct net_fw_ctr *ctr, char **cause);
/* Returns a rule's expressions as `nft list` shows them, each load with
 * the cmp that reads its register; what cannot be said so (an expression of
 * a kind not known, or one not paired) stays as libnftnl prints it. */
char *net_fw_rule_nft(const struct nftnl_rule *r);
/* Returns the rules net_fw_base_install (base, if not NULL) and then
 * net_fw_ctr_add (ctr, if not NULL) would add, one line per rule, "CHAIN:
 * EXPR", EXPR as net_fw_list shows it, or NULL with a cause; for tests. */
char *net_fw_plan_nft(const struct net_fw_base *base,
    const struct net_fw_ctr *ctr, char **cause);
/* Parses "ADDR" or "ADDR/LEN" (IPv4 or IPv6) into *p; the address must have
 * no bits set past LEN; -1 with a cause on failure. */
int net_fw_prefix_parse(const char *s, struct net_fw_prefix *p,
    char **cause);
/* Formats a prefix as "ADDR/LEN" into buf of size len (at least
 * NET_FW_PREFIX_STRLEN). */
void net_fw_prefix_format(const struct net_fw_prefix *p, char *buf,
    size_t len);
#define NET_FW_PREFIX_STRLEN 50

#endif
