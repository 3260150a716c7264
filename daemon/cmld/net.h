/*
 * cmld's network (net.c): the links of the service containers to c0, the
 * firewall that guards them, and the interfaces assigned to containers,
 * over the two lower layers net-link.c (rtnetlink) and net-fw.c
 * (nftables).
 *
 * c0's network namespace is cmld's own: it holds the uplinks (the
 * device's interfaces), the c0 end of every container link ("vc-INDEX")
 * and cmld's nftables table "inet cml".  c0 runs in it without
 * CAP_NET_ADMIN, so only cmld changes links, addresses, routes and rules
 * there.  A linked container's namespace is made by cmld before the start
 * (net_ctr_up), owned by cmld's user namespace, so that not even root in
 * the container changes its addresses or routes; its end of the link is
 * "eth0".  An island container's namespace comes from the clone and holds
 * only lo.
 *
 * Fail-closed: the base ruleset (forward policy drop, container to
 * container dropped, every container link dropped unless its own chain
 * accepts) is loaded before any link exists; a container whose link or
 * rules cannot be set up does not start; the rules are kernel state and
 * stay when cmld dies.  Every change is one nftables transaction and is
 * audited with what changed.
 */
#ifndef CMLD_NET_H
#define CMLD_NET_H

#include <sys/types.h>

struct cmld;
struct ctr;
struct container;
struct json_object;

/* The c0 end of container INDEX's link is CCONFIG_NET_LINK_PREFIX "INDEX"
 * ("vc-3"). */
/* The container's end of its link, inside its namespace. */
#define NET_CTR_IFNAME "eth0"

/*
 * At cmld's start, once the stored containers were loaded and the running
 * ones found again, before any container starts: opens cmld's network
 * namespace, reads the pool (settings net_pool_v4, net_pool_v6), loads
 * the base ruleset when it is missing and a container has a link (or the
 * table is there already), and removes the orphans (links, rules and
 * interfaces of containers that no longer run), audited.  Failures are
 * logged and audited; linked containers are then refused at start.
 */
void net_init(struct cmld *cmld);
/* At cmld's end: lets go of the sockets; links and rules stay. */
void net_free(struct cmld *cmld);

/*
 * Before container_start of k (rt its runtime object): for a linked
 * container or one with assigned interfaces, makes its network namespace,
 * the link, its rules and DNS settings, moves its interfaces in, and
 * hands the namespace to rt (container_set_netns); c0 gets cmld's own
 * namespace.  Nothing for an island container.  On failure nothing of it
 * is left.  0, or -1 with a cause for the start's refusal.
 */
int net_ctr_up(struct ctr *k, struct container *rt, char **cause);
/*
 * After k ended, or its start failed after net_ctr_up: removes its rules,
 * returns its interfaces to c0, deletes its link; audited.  Nothing when
 * it had none.
 */
void net_ctr_down(struct ctr *k);
/* At cmld's end: lets go of k's network state; it stays in the kernel. */
void net_ctr_forget(struct ctr *k);
/*
 * After k (init pid) was found running again after a cmld restart: takes
 * its link, rules and interfaces back into k's state.  0, or -1 with a
 * cause (it then runs without; net_ctr_down still cleans up).
 */
int net_ctr_adopt(struct ctr *k, pid_t pid, char **cause);

/*
 * `container net show NAME`: {"name", "mode": "island"|"link"|"c0" (c0
 * shares cmld's namespace), "running",
 * "link": null | {"c0_end": "vc-3", "container_end": "eth0",
 * "c0_addresses": ["10.200.0.13/30", ...], "addresses": [...]},
 * "dns": [...], "interfaces": [{"name", "held": true|false}],
 * "rules": [{"chain", "handle", "comment", "expr", "raw"}]} (the rules
 * as the kernel has them, expr in nft's syntax, raw libnftnl's: the base
 * chains' jumps to its chain, then its chain; empty while it does not
 * run).  NULL with a cause.
 */
struct json_object *net_ctr_show(struct ctr *k, char **cause);
/*
 * `net status`: {"base_ruleset": {"loaded": bool, "table": "inet cml",
 * "error": null | text}, "pool": {"v4": null | prefix, "v6": null |
 * prefix, "size": N, "used": N}, "masquerade": [uplink, ...],
 * "c0_guard": {"uplinks": [uplink, ...], "ports": ["tcp/22", ...]},
 * "segments": [{"container", "c0_end", "container_end", "c0_addresses",
 * "addresses", "rules": N}], "interfaces": [{"name", "container"}]}.
 * NULL with a cause.
 */
struct json_object *net_status(struct cmld *cmld, char **cause);
/*
 * `net rules`: the table as the kernel has it (net_fw_list): {"table",
 * "chains": [{"name", "hook", "priority", "policy", "rules": [{"handle",
 * "comment", "expr", "raw"}]}]}.  NULL with a cause.
 */
struct json_object *net_rules(struct cmld *cmld, char **cause);

#endif
