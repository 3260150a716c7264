/*
 * cmld's network: the links of the service containers to c0, their rules
 * and the interfaces assigned to them (see net.h), over net-link.c and
 * net-fw.c.  Everything here runs in cmld's loop and each step is one
 * netlink request or one nftables transaction.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "cconfig.h"
#include "container.h"
#include "ctr.h"
#include "ctx.h"
#include "log.h"
#include "net-fw.h"
#include "net-link.h"
#include "net.h"
#include "netns.h"
#include "store.h"
#include "xmalloc.h"

/* cmld's side: c0's namespace (its own), and the sockets in it. */
struct net {
	int selfns; /* cmld's network namespace; -1: not open */
	struct net_nl *nl; /* rtnetlink in it */
	struct net_fw *fw; /* nftables in it */
	int base_loaded; /* the base ruleset is in the kernel */
	char *error; /* why the network cannot be used; NULL */
	char *masquerade; /* net_masquerade as the base ruleset has it */
	char *guard; /* net_guard_uplinks as it has it */
	char *c0_ports; /* net_c0_ports as it has it */
};

/* What a container holds of the network while it runs. */
struct net_ctr {
	int nsfd; /* its namespace, kept to take interfaces back; -1 */
	int shares; /* c0: cmld's own namespace, nothing to undo */
	char link[NET_FW_IFNAME_MAX + 1]; /* c0's end; "": no link */
	struct net_lease lease;
	int rules; /* its chain is loaded */
	char **ifaces; /* assigned interfaces moved into it */
	size_t nifaces;
	char *resolv; /* the resolv.conf cmld wrote for it; NULL */
};

/* Microseconds on the monotonic clock, for the debug log's timings. */
static long long
net_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct net *
net_of(struct cmld *cmld)
{
	return cmld->net;
}

/* 1 when k's config asks for a namespace of cmld's making. */
static int
net_wanted(const struct ctr *k)
{
	return k->cfg_ok && (k->cfg.net.mode == CCONFIG_NET_LINK ||
	    k->cfg.net.ninterfaces > 0);
}

/* Splits a comma-separated list (a canonical net_masquerade) in place. */
static size_t
net_split(char *s, const char **v, size_t max)
{
	size_t n = 0;
	char *p;

	while (*s != '\0' && n < max) {
		v[n++] = s;
		if ((p = strchr(s, ',')) == NULL)
			break;
		*p = '\0';
		s = p + 1;
	}
	return n;
}

/* Formats the addresses of one end of a lease: "A/P B/P". */
static void
net_lease_format(const struct net_lease *l, int c0_end, char *buf,
    size_t len)
{
	char a[NET_ADDR_STRLEN], b[NET_ADDR_STRLEN];

	a[0] = b[0] = '\0';
	if (l->has_v4)
		(void)net_addr_format(c0_end ? &l->c0_v4 : &l->ctr_v4, a,
		    sizeof a);
	if (l->has_v6)
		(void)net_addr_format(c0_end ? &l->c0_v6 : &l->ctr_v6, b,
		    sizeof b);
	snprintf(buf, len, "%s%s%s", a, *a != '\0' && *b != '\0' ? " " : "",
	    b);
}

/* The pool of the settings net_pool_v4 and net_pool_v6; -1 with a cause. */
static int
net_pool_read(struct cmld *cmld, struct net_pool *pool, char **cause)
{
	char *v4, *v6;
	int rc;

	v4 = store_setting_value(cmld->store, "net_pool_v4");
	v6 = store_setting_value(cmld->store, "net_pool_v6");
	if (*v4 == '\0' && *v6 == '\0') {
		xcause(cause, "net_pool_v4 and net_pool_v6 are both empty");
		rc = -1;
	} else
		rc = net_pool_init(pool, *v4 != '\0' ? v4 : NULL,
		    *v6 != '\0' ? v6 : NULL, cause);
	free(v4);
	free(v6);
	return rc;
}

/* The container's address a port forward goes to: IPv4 if it has one. */
static void
net_forward_to(const struct net_lease *l, struct net_fw_prefix *to)
{
	memset(to, 0, sizeof *to);
	if (l->has_v4) {
		to->family = AF_INET;
		memcpy(to->addr, &l->ctr_v4.a.v4, 4);
		to->len = 32;
	} else {
		to->family = AF_INET6;
		memcpy(to->addr, &l->ctr_v6.a.v6, 16);
		to->len = 128;
	}
}

/*
 * Loads the base ruleset (replacing the table: every container chain goes
 * with it; the caller adds back those of running containers).  0, or -1
 * with a cause.
 */
static int
net_base_load(struct cmld *cmld, char **cause)
{
	struct net *n = net_of(cmld);
	const char *masq[8], *guard[8], *pv[16];
	struct net_fw_port ports[16];
	struct net_fw_base base;
	char *list, *copy, *glist, *gcopy, *plist, *pcopy, *slash;
	size_t i, np;
	int rc;

	list = store_setting_value(cmld->store, "net_masquerade");
	glist = store_setting_value(cmld->store, "net_guard_uplinks");
	plist = store_setting_value(cmld->store, "net_c0_ports");
	copy = xstrdup(list);
	gcopy = xstrdup(glist);
	pcopy = xstrdup(plist);
	memset(&base, 0, sizeof base);
	base.link_prefix = CCONFIG_NET_LINK_PREFIX;
	base.masquerade = masq;
	base.nmasquerade = net_split(copy, masq, sizeof masq / sizeof *masq);
	base.guard = guard;
	base.nguard = net_split(gcopy, guard, sizeof guard / sizeof *guard);
	/* Canonical (settings.c): "tcp/22,udp/161". */
	np = net_split(pcopy, pv, sizeof pv / sizeof *pv);
	for (i = 0; i < np; i++) {
		slash = strchr(pv[i], '/');
		ports[i].proto = strncmp(pv[i], "udp", 3) == 0 ? IPPROTO_UDP :
		    IPPROTO_TCP;
		ports[i].port = (uint16_t)(slash != NULL ?
		    strtoul(slash + 1, NULL, 10) : 0);
	}
	base.c0_ports = ports;
	base.nc0_ports = np;
	rc = net_fw_base_install(n->fw, &base, cause);
	free(copy);
	free(gcopy);
	free(pcopy);
	if (rc == -1) {
		free(list);
		free(glist);
		free(plist);
		return -1;
	}
	n->base_loaded = 1;
	free(n->masquerade);
	n->masquerade = list;
	free(n->guard);
	n->guard = xstrdup(glist);
	free(n->c0_ports);
	n->c0_ports = xstrdup(plist);
	audit_write(cmld, "network", "inet cml", "ok", "base ruleset loaded: "
	    "forward policy drop, container to container dropped, every "
	    "container link (" CCONFIG_NET_LINK_PREFIX "*) dropped unless its "
	    "chain accepts; masquerade through: %s; c0 guarded on: %s%s%s%s",
	    *list != '\0' ? list : "none", *glist != '\0' ? glist : "none",
	    *glist != '\0' ? " (ports: " : "",
	    *glist != '\0' ? (*plist != '\0' ? plist : "none") : "",
	    *glist != '\0' ? ")" : "");
	free(glist);
	free(plist);
	return 0;
}

/*
 * Whether the table holds the base ruleset: a chain "forward" whose policy
 * is drop.  1, 0 (no table, or not that), -1 with a cause.
 */
static int
net_base_present(struct net *n, char **cause)
{
	struct json_object *t, *chains, *c, *v;
	size_t i;
	int found = 0;

	if ((t = net_fw_list(n->fw, cause)) == NULL)
		return -1;
	if (json_object_object_get_ex(t, "chains", &chains)) {
		for (i = 0; i < json_object_array_length(chains); i++) {
			c = json_object_array_get_idx(chains, i);
			if (json_object_object_get_ex(c, "name", &v) &&
			    strcmp(json_object_get_string(v), "forward") == 0 &&
			    json_object_object_get_ex(c, "policy", &v) &&
			    strcmp(json_object_get_string(v), "drop") == 0)
				found = 1;
		}
	}
	json_object_put(t);
	return found;
}

/* Makes sure the base ruleset is loaded before a link exists. */
static int
net_base_ensure(struct cmld *cmld, char **cause)
{
	struct net *n = net_of(cmld);
	char *why = NULL;

	if (n->error != NULL) {
		xcause(cause, "the network is not usable: %s", n->error);
		return -1;
	}
	if (n->base_loaded)
		return 0;
	if (net_base_load(cmld, &why) == -1) {
		xcause(cause, "the base ruleset cannot be loaded: %s", why);
		audit_write(cmld, "network", "inet cml", "failed", "the base "
		    "ruleset cannot be loaded (no link is made): %s", why);
		free(why);
		return -1;
	}
	return 0;
}

/* The container holding interface name other than k, or NULL. */
static struct ctr *
net_iface_holder(struct cmld *cmld, const struct ctr *k, const char *name)
{
	struct ctr *o;
	size_t i;

	TAILQ_FOREACH(o, &cmld->ctrs, entry) {
		if (o == k || o->net == NULL)
			continue;
		for (i = 0; i < o->net->nifaces; i++)
			if (strcmp(o->net->ifaces[i], name) == 0)
				return o;
	}
	return NULL;
}

/* Writes k's resolv.conf (its DNS servers) and binds it in; -1, cause. */
static int
net_resolv(struct ctr *k, struct container *rt, struct net_ctr *nc,
    char **cause)
{
	char *text = xstrdup("# written by cmld from cml.network.dns\n"), *t;
	char *name;
	size_t i;
	int fd, rc;

	for (i = 0; i < k->cfg.net.ndns; i++) {
		t = xasprintf("%snameserver %s\n", text, k->cfg.net.dns[i]);
		free(text);
		text = t;
	}
	/*
	 * Made anew at every start (no fsync: it is run-time state), mode
	 * 0644 whatever cmld's umask, so that a container's root that is
	 * nobody on the host (a user namespace) reads it too.
	 */
	name = xasprintf("%s/%s.resolv.conf", k->cmld->ctr_dir, k->name);
	(void)unlink(name);
	rc = -1;
	if ((fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) != -1) {
		nc->resolv = name;
		name = NULL;
		if (fchmod(fd, 0644) == 0 &&
		    write(fd, text, strlen(text)) == (ssize_t)strlen(text))
			rc = 0;
		if (close(fd) == -1)
			rc = -1;
	}
	if (rc == -1)
		xcause(cause, "cannot write %s: %s", nc->resolv != NULL ?
		    nc->resolv : name, strerror(errno));
	free(name);
	free(text);
	if (rc == -1)
		return -1;
	return container_add_bind(rt, nc->resolv, "/etc/resolv.conf", 1,
	    cause);
}

/*
 * Undoes what nc holds: its rules, its interfaces (back to c0), its link,
 * its resolv.conf.  Appends what it did (or could not) to *done.  Unless
 * sync, a link goes with the container's namespace, once cmld lets go of
 * it: the kernel removes both ends in the background (deleting a veth
 * waits for the network's grace periods, tens of milliseconds a link).
 */
static void
net_undo(struct cmld *cmld, const char *name, struct net_ctr *nc,
    char **done, int sync)
{
	struct net *n = net_of(cmld);
	struct net_nl *cnl = NULL;
	char *why = NULL, *t;
	size_t i;

#define NET_SAY(...) do {						\
		char *s_ = xasprintf(__VA_ARGS__);			\
		t = xasprintf("%s%s%s", *done, **done != '\0' ? "; " : "", s_);\
		free(s_);						\
		free(*done);						\
		*done = t;						\
	} while (0)

	if (nc->rules) {
		if (net_fw_ctr_remove(n->fw, name, &why) == 0)
			NET_SAY("chain " NET_FW_CHAIN_PREFIX "%s removed", name);
		else {
			NET_SAY("chain " NET_FW_CHAIN_PREFIX "%s not removed: "
			    "%s", name, why);
			free(why);
			why = NULL;
		}
		nc->rules = 0;
	}
	if (nc->nifaces > 0 && nc->nsfd != -1 &&
	    (cnl = net_nl_open(nc->nsfd, &why)) == NULL) {
		NET_SAY("interfaces not returned: %s", why);
		free(why);
		why = NULL;
	}
	for (i = 0; cnl != NULL && i < nc->nifaces; i++) {
		if (net_link_move(cnl, nc->ifaces[i], n->selfns, &why) == 0)
			NET_SAY("interface %s returned to c0", nc->ifaces[i]);
		else {
			NET_SAY("interface %s not returned: %s", nc->ifaces[i],
			    why);
			free(why);
			why = NULL;
		}
	}
	net_nl_close(cnl);
	for (i = 0; i < nc->nifaces; i++)
		free(nc->ifaces[i]);
	free(nc->ifaces);
	nc->ifaces = NULL;
	nc->nifaces = 0;
	if (nc->link[0] != '\0' && !sync && nc->nsfd != -1) {
		NET_SAY("link %s goes with its namespace", nc->link);
		nc->link[0] = '\0';
	}
	if (nc->link[0] != '\0') {
		if (net_link_disconnect(n->nl, nc->link, &why) == 0)
			NET_SAY("link %s removed", nc->link);
		else {
			NET_SAY("link %s not removed: %s", nc->link, why);
			free(why);
			why = NULL;
		}
		nc->link[0] = '\0';
	}
	if (nc->resolv != NULL) {
		(void)unlink(nc->resolv);
		free(nc->resolv);
		nc->resolv = NULL;
	}
	if (nc->nsfd != -1) {
		close(nc->nsfd);
		nc->nsfd = -1;
	}
#undef NET_SAY
}

static struct net_ctr *
net_ctr_new(void)
{
	struct net_ctr *nc = xcalloc(1, sizeof *nc);

	nc->nsfd = -1;
	return nc;
}

/* 1 when name is the link or chain id of a running container. */
static int
net_in_use(struct cmld *cmld, const char *link, const char *id)
{
	struct ctr *k;

	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (k->net == NULL)
			continue;
		if (link != NULL && strcmp(k->net->link, link) == 0)
			return 1;
		if (id != NULL && k->net->rules && strcmp(k->name, id) == 0)
			return 1;
	}
	return 0;
}

/* Sets up k's link and its rules in nc; -1 with a cause. */
static int
net_link_up_ctr(struct ctr *k, struct net_ctr *nc, struct net_nl *cnl,
    char **cause)
{
	struct cmld *cmld = k->cmld;
	struct net *n = net_of(cmld);
	struct net_pool pool;
	struct net_fw_forward fwd[CCONFIG_NET_FORWARD_MAX];
	struct net_fw_prefix to;
	struct net_fw_ctr fctr;
	char *why = NULL;
	long long t0, t1;

	if (net_pool_read(cmld, &pool, &why) == -1 ||
	    net_pool_lease(&pool, (uint32_t)k->idx, &nc->lease, &why) == -1) {
		xcause(cause, "no addresses for its link: %s", why);
		free(why);
		return -1;
	}
	snprintf(nc->link, sizeof nc->link, CCONFIG_NET_LINK_PREFIX "%lld",
	    k->idx);
	/* The link of its last run, if the kernel has not removed it yet. */
	if (net_link_index(n->nl, nc->link, NULL) > 0 &&
	    !net_in_use(cmld, nc->link, NULL) &&
	    net_link_del(n->nl, nc->link, &why) == -1) {
		xcause(cause, "the link %s of its last run cannot be removed: %s",
		    nc->link, why);
		free(why);
		nc->link[0] = '\0';
		return -1;
	}
	t0 = net_now_us();
	if (net_link_connect(n->nl, cnl, nc->nsfd, nc->link, NET_CTR_IFNAME,
	    &nc->lease, &why) == -1) {
		nc->link[0] = '\0';
		xcause(cause, "its link to c0 cannot be made: %s", why);
		free(why);
		return -1;
	}
	if ((nc->lease.has_v4 &&
	    net_link_forwarding(-1, AF_INET, 1, &why) == -1) ||
	    (nc->lease.has_v6 &&
	    net_link_forwarding(-1, AF_INET6, 1, &why) == -1)) {
		xcause(cause, "forwarding cannot be turned on in c0's "
		    "namespace: %s", why);
		free(why);
		return -1;
	}
	net_forward_to(&nc->lease, &to);
	t1 = net_now_us();
	if (cconfig_net_fw_ctr(&k->cfg, nc->link, &to, fwd, &fctr,
	    &why) == -1 || net_fw_ctr_add(n->fw, &fctr, &why) == -1) {
		xcause(cause, "its rules cannot be applied: %s", why);
		free(why);
		return -1;
	}
	nc->rules = 1;
	log_debug("container %s: link %s in %lld us, rules in %lld us",
	    k->name, nc->link, t1 - t0, net_now_us() - t1);
	return 0;
}

/*
 * Checks that k may have its assigned interfaces: none held by a running
 * container, each in c0's namespace.  -1 with a cause.
 */
static int
net_ifaces_check(struct ctr *k, char **cause)
{
	struct net *n = net_of(k->cmld);
	const char *name;
	struct ctr *o;
	char *why = NULL;
	size_t i;
	int idx;

	for (i = 0; i < k->cfg.net.ninterfaces; i++) {
		name = k->cfg.net.interfaces[i];
		if ((o = net_iface_holder(k->cmld, k, name)) != NULL) {
			xcause(cause, "interface %s is assigned to container "
			    "'%s', which runs", name, o->name);
			return -1;
		}
		if ((idx = net_link_index(n->nl, name, &why)) <= 0) {
			xcause(cause, "interface %s cannot be assigned: %s",
			    name, idx == 0 ? "c0's namespace has no such "
			    "interface" : why);
			free(why);
			return -1;
		}
	}
	return 0;
}

/* Moves k's assigned interfaces into its namespace; -1 with a cause. */
static int
net_ifaces_in(struct ctr *k, struct net_ctr *nc, char **cause)
{
	struct net *n = net_of(k->cmld);
	const char *name;
	char *why = NULL;
	size_t i;

	nc->ifaces = xcalloc(k->cfg.net.ninterfaces + 1, sizeof *nc->ifaces);
	for (i = 0; i < k->cfg.net.ninterfaces; i++) {
		name = k->cfg.net.interfaces[i];
		if (net_link_move(n->nl, name, nc->nsfd, &why) == -1) {
			xcause(cause, "interface %s cannot be moved in: %s",
			    name, why);
			free(why);
			return -1;
		}
		nc->ifaces[nc->nifaces++] = xstrdup(name);
	}
	return 0;
}

/* The audit text of what a container got. */
static char *
net_describe(const struct ctr *k, const struct net_ctr *nc)
{
	char c0a[2 * NET_ADDR_STRLEN + 2], ca[2 * NET_ADDR_STRLEN + 2];
	char *s, *t;
	size_t i;

	if (nc->link[0] != '\0') {
		net_lease_format(&nc->lease, 1, c0a, sizeof c0a);
		net_lease_format(&nc->lease, 0, ca, sizeof ca);
		s = xasprintf("link %s (c0: %s) to %s (%s); chain "
		    NET_FW_CHAIN_PREFIX "%s: %zu egress, %zu forward, %zu "
		    "management allowances, all else dropped",
		    nc->link, c0a, NET_CTR_IFNAME, ca, k->name,
		    k->cfg.net.negress, k->cfg.net.nforward,
		    k->cfg.net.nmgmt);
	} else
		s = xstrdup("no link (island)");
	for (i = 0; i < nc->nifaces; i++) {
		t = xasprintf("%s%s%s", s, i == 0 ? "; interfaces moved in: " :
		    ", ", nc->ifaces[i]);
		free(s);
		s = t;
	}
	return s;
}

/*
 * Sets up k's network in the namespace nc->nsfd refers to: lo up (unless
 * the container brings it up itself), its link and rules, its interfaces.
 * 0, or -1 with a cause (the caller undoes).
 */
static int
net_setup_in(struct ctr *k, struct net_ctr *nc, int lo, char **cause)
{
	struct net_nl *cnl;
	char *why = NULL;
	long long t0 = net_now_us();
	int rc = -1;

	if ((cnl = net_nl_open(nc->nsfd, &why)) == NULL ||
	    (lo && net_link_up(cnl, "lo", &why) == -1)) {
		xcause(cause, "its network namespace cannot be set up: %s",
		    why);
		free(why);
		goto out;
	}
	if ((k->cfg.net.mode == CCONFIG_NET_LINK &&
	    net_link_up_ctr(k, nc, cnl, cause) == -1) ||
	    net_ifaces_in(k, nc, cause) == -1)
		goto out;
	rc = 0;
	log_debug("container %s: network set up in %lld us", k->name,
	    net_now_us() - t0);
out:
	net_nl_close(cnl);
	return rc;
}

/* Audits and logs what k's network is now. */
static void
net_set_up(struct ctr *k, struct net_ctr *nc)
{
	char *what = net_describe(k, nc);

	audit_container(k->cmld, k->name, "ok", "network set up: %s", what);
	log_info("container %s: %s", k->name, what);
	free(what);
}

/* Undoes a network that could not be set up, audited with cause. */
static void
net_failed(struct ctr *k, struct net_ctr *nc, const char *cause)
{
	char *done = xstrdup("");

	net_undo(k->cmld, k->name, nc, &done, 1);
	audit_container(k->cmld, k->name, "failed", "network not set up: "
	    "%s%s%s", cause, *done != '\0' ? "; undone: " : "", done);
	free(done);
	if (k->net == nc)
		k->net = NULL;
	free(nc);
}

/*
 * The network of a container in a user namespace of its own, in the
 * namespace its clone made (owned by its user namespace: its sysfs
 * mounts), set up while its init waits.
 */
static int
net_hook(struct container *rt, pid_t pid, void *arg, char **cause)
{
	struct ctr *k = arg;
	struct net_ctr *nc = k->net;
	char path[64];

	(void)rt;
	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)pid);
	if ((nc->nsfd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xcause(cause, "its network namespace cannot be opened: %s",
		    strerror(errno));
		net_failed(k, nc, *cause);
		return -1;
	}
	if (net_setup_in(k, nc, 0, cause) == -1) {
		net_failed(k, nc, *cause);
		return -1;
	}
	net_set_up(k, nc);
	return 0;
}

int
net_ctr_up(struct ctr *k, struct container *rt, char **cause)
{
	struct cmld *cmld = k->cmld;
	struct net *n = net_of(cmld);
	struct net_ctr *nc;
	char *why = NULL;
	int fd;

	if (k->net != NULL)
		net_ctr_down(k);
	if (k->cfg.is_c0) {
		/* c0 lives in cmld's namespace: the uplinks are there. */
		if (n == NULL || n->selfns == -1 ||
		    (fd = dup(n->selfns)) == -1)
			return 0;
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		container_set_netns(rt, fd);
		nc = net_ctr_new();
		nc->shares = 1;
		k->net = nc;
		return 0;
	}
	if (!net_wanted(k))
		return 0;
	if (n == NULL || n->error != NULL) {
		xcause(cause, "its network cannot be set up: %s",
		    n != NULL ? n->error : "cmld has no network");
		return -1;
	}
	if (net_ifaces_check(k, cause) == -1 ||
	    (k->cfg.net.mode == CCONFIG_NET_LINK &&
	    net_base_ensure(cmld, cause) == -1))
		return -1;
	nc = net_ctr_new();
	if (k->cfg.net.mode == CCONFIG_NET_LINK &&
	    net_resolv(k, rt, nc, cause) == -1)
		goto fail;
	if (k->cfg.user_namespace) {
		/* Set up once its clone made the namespace (net_hook). */
		k->net = nc;
		container_set_net_hook(rt, net_hook, k);
		return 0;
	}
	if ((nc->nsfd = netns_new(&why)) == -1) {
		xcause(cause, "its network namespace cannot be made: %s", why);
		free(why);
		goto fail;
	}
	if (net_setup_in(k, nc, 1, cause) == -1)
		goto fail;
	if ((fd = dup(nc->nsfd)) == -1) {
		xcause(cause, "dup: %s", strerror(errno));
		goto fail;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	container_set_netns(rt, fd);
	k->net = nc;
	net_set_up(k, nc);
	return 0;
fail:
	net_failed(k, nc, *cause);
	return -1;
}

void
net_ctr_down(struct ctr *k)
{
	struct net_ctr *nc = k->net;
	char *done;

	if (nc == NULL)
		return;
	k->net = NULL;
	if (nc->shares) {
		free(nc);
		return;
	}
	done = xstrdup("");
	net_undo(k->cmld, k->name, nc, &done, 0);
	k->net = nc;
	net_ctr_forget(k);
	if (*done != '\0') {
		audit_container(k->cmld, k->name, strstr(done, " not ") !=
		    NULL ? "failed" : "ok", "network taken down: %s", done);
		log_info("container %s: network taken down: %s", k->name, done);
	}
	free(done);
}

void
net_ctr_forget(struct ctr *k)
{
	struct net_ctr *nc = k->net;
	size_t i;

	if (nc == NULL)
		return;
	k->net = NULL;
	if (nc->nsfd != -1)
		close(nc->nsfd);
	for (i = 0; i < nc->nifaces; i++)
		free(nc->ifaces[i]);
	free(nc->ifaces);
	free(nc->resolv);
	free(nc);
}

int
net_ctr_adopt(struct ctr *k, pid_t pid, char **cause)
{
	struct net *n = net_of(k->cmld);
	struct net_ctr *nc;
	struct net_pool pool;
	char path[64], *why = NULL;
	size_t i;
	int idx;

	if (k->cfg.is_c0 || !net_wanted(k) || n == NULL || n->error != NULL)
		return 0;
	nc = net_ctr_new();
	k->net = nc;
	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)pid);
	if ((nc->nsfd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xcause(cause, "its network namespace cannot be opened: %s",
		    strerror(errno));
		return -1;
	}
	if (k->cfg.net.mode == CCONFIG_NET_LINK) {
		snprintf(nc->link, sizeof nc->link,
		    CCONFIG_NET_LINK_PREFIX "%lld", k->idx);
		if ((idx = net_link_index(n->nl, nc->link, &why)) <= 0) {
			nc->link[0] = '\0';
			xcause(cause, "its link is gone: %s", idx == 0 ?
			    "no such interface" : why);
			free(why);
			return -1;
		}
		nc->rules = 1;
		if (net_pool_read(k->cmld, &pool, &why) == 0)
			(void)net_pool_lease(&pool, (uint32_t)k->idx,
			    &nc->lease, &why);
		free(why);
		nc->resolv = xasprintf("%s/%s.resolv.conf", k->cmld->ctr_dir,
		    k->name);
	}
	/* Its interfaces are those no longer in c0's namespace. */
	nc->ifaces = xcalloc(k->cfg.net.ninterfaces + 1, sizeof *nc->ifaces);
	for (i = 0; i < k->cfg.net.ninterfaces; i++) {
		if (net_link_index(n->nl, k->cfg.net.interfaces[i], NULL) == 0)
			nc->ifaces[nc->nifaces++] =
			    xstrdup(k->cfg.net.interfaces[i]);
	}
	return 0;
}

/* Removes the links and chains of containers that no longer run. */
static void
net_orphans(struct cmld *cmld)
{
	struct net *n = net_of(cmld);
	char **names = NULL, **ids = NULL, *why = NULL;
	size_t i, nn = 0, ni = 0;

	if (net_link_list(n->nl, CCONFIG_NET_LINK_PREFIX, &names, &nn,
	    &why) == -1) {
		log_warnx("network: cannot list the container links: %s", why);
		free(why);
		why = NULL;
	}
	for (i = 0; i < nn; i++) {
		if (net_in_use(cmld, names[i], NULL))
			continue;
		if (net_link_del(n->nl, names[i], &why) == 0)
			audit_write(cmld, "network", names[i], "ok", "orphaned "
			    "link %s removed (its container no longer runs)",
			    names[i]);
		else {
			audit_write(cmld, "network", names[i], "failed",
			    "orphaned link %s not removed: %s", names[i], why);
			free(why);
			why = NULL;
		}
	}
	net_link_names_free(names);
	if (!n->base_loaded)
		return;
	if (net_fw_ctr_ids(n->fw, &ids, &ni, &why) == -1) {
		log_warnx("network: cannot list the container chains: %s", why);
		free(why);
		return;
	}
	for (i = 0; i < ni; i++) {
		if (!net_in_use(cmld, NULL, ids[i])) {
			if (net_fw_ctr_remove(n->fw, ids[i], &why) == 0)
				audit_write(cmld, "network", ids[i], "ok",
				    "orphaned chain " NET_FW_CHAIN_PREFIX "%s "
				    "removed (its container no longer runs)",
				    ids[i]);
			else {
				audit_write(cmld, "network", ids[i], "failed",
				    "orphaned chain " NET_FW_CHAIN_PREFIX "%s "
				    "not removed: %s", ids[i], why);
				free(why);
				why = NULL;
			}
		}
		free(ids[i]);
	}
	free(ids);
}

/* Adds back the chains of running containers after a base reload. */
static void
net_rechain(struct cmld *cmld)
{
	struct net *n = net_of(cmld);
	struct net_fw_forward fwd[CCONFIG_NET_FORWARD_MAX];
	struct net_fw_prefix to;
	struct net_fw_ctr fctr;
	struct ctr *k;
	char *why = NULL;

	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (k->net == NULL || k->net->link[0] == '\0')
			continue;
		net_forward_to(&k->net->lease, &to);
		if (cconfig_net_fw_ctr(&k->cfg, k->net->link, &to, fwd, &fctr,
		    &why) == -1 || net_fw_ctr_add(n->fw, &fctr, &why) == -1) {
			k->net->rules = 0;
			audit_container(cmld, k->name, "failed", "its rules "
			    "could not be loaded again (its link stays "
			    "dropped): %s", why);
			free(why);
			why = NULL;
		} else
			k->net->rules = 1;
	}
}

void
net_init(struct cmld *cmld)
{
	struct net *n = xcalloc(1, sizeof *n);
	struct ctr *k;
	char *why = NULL;
	int need = 0, present;

	cmld->net = n;
	if ((n->selfns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) ==
	    -1)
		n->error = xasprintf("cmld's network namespace cannot be "
		    "opened: %s", strerror(errno));
	else if ((n->nl = net_nl_open(-1, &why)) == NULL ||
	    (n->fw = net_fw_open(-1, &why)) == NULL) {
		n->error = why;
		why = NULL;
	}
	if (n->error != NULL) {
		log_warnx("network: %s", n->error);
		audit_write(cmld, "network", "inet cml", "failed", "the network "
		    "cannot be used (linked containers will not start): %s",
		    n->error);
		return;
	}
	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (k->cfg_ok && k->cfg.net.mode == CCONFIG_NET_LINK)
			need = 1;
		if (k->rt != NULL && k->rt->pid > 0 &&
		    net_ctr_adopt(k, k->rt->pid, &why) == -1) {
			audit_container(cmld, k->name, "failed", "found "
			    "running, but not its network: %s", why);
			free(why);
			why = NULL;
		}
	}
	if ((present = net_base_present(n, &why)) == -1) {
		log_warnx("network: cannot read the table: %s", why);
		free(why);
		why = NULL;
	}
	if (present == 1) {
		n->base_loaded = 1;
		n->masquerade = store_setting_value(cmld->store, "net_masquerade");
		n->guard = store_setting_value(cmld->store,
		    "net_guard_uplinks");
		n->c0_ports = store_setting_value(cmld->store, "net_c0_ports");
	} else if (need || present == -1) {
		/* Missing or damaged while something needs it: load it now. */
		if (net_base_load(cmld, &why) == -1) {
			log_warnx("network: the base ruleset cannot be loaded: "
			    "%s", why);
			audit_write(cmld, "network", "inet cml", "failed", "the "
			    "base ruleset cannot be loaded (linked containers "
			    "will not start): %s", why);
			free(why);
			why = NULL;
		} else
			net_rechain(cmld);
	}
	net_orphans(cmld);
}

void
net_free(struct cmld *cmld)
{
	struct net *n = net_of(cmld);

	if (n == NULL)
		return;
	net_nl_close(n->nl);
	net_fw_close(n->fw);
	if (n->selfns != -1)
		close(n->selfns);
	free(n->error);
	free(n->masquerade);
	free(n->guard);
	free(n->c0_ports);
	free(n);
	cmld->net = NULL;
}

/* Appends strings to a new array member key of o. */
static struct json_object *
net_json_addrs(const struct net_lease *l, int c0_end)
{
	struct json_object *a = json_object_new_array();
	char buf[NET_ADDR_STRLEN];

	if (l->has_v4 && net_addr_format(c0_end ? &l->c0_v4 : &l->ctr_v4, buf,
	    sizeof buf) == 0)
		json_object_array_add(a, json_object_new_string(buf));
	if (l->has_v6 && net_addr_format(c0_end ? &l->c0_v6 : &l->ctr_v6, buf,
	    sizeof buf) == 0)
		json_object_array_add(a, json_object_new_string(buf));
	return a;
}

/* The link of a running container, as show and status give it. */
static struct json_object *
net_json_link(const struct net_ctr *nc)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "c0_end", json_object_new_string(nc->link));
	json_object_object_add(o, "container_end",
	    json_object_new_string(NET_CTR_IFNAME));
	json_object_object_add(o, "c0_addresses",
	    net_json_addrs(&nc->lease, 1));
	json_object_object_add(o, "addresses", net_json_addrs(&nc->lease, 0));
	return o;
}

/*
 * The rules in force for a container in table t, flattened into
 * [{"chain", "handle", "comment", "expr"}]: those of the base chains that
 * send its link's traffic to its chain (their comments begin with the
 * chain's name and a colon), then its chain's own.
 */
static struct json_object *
net_json_rules(struct json_object *t, const char *chain)
{
	struct json_object *out = json_object_new_array(), *chains, *c, *v;
	struct json_object *rules, *r, *f, *cm;
	size_t i, j, len = strlen(chain);
	int own;

	if (!json_object_object_get_ex(t, "chains", &chains))
		return out;
	for (i = 0; i < json_object_array_length(chains); i++) {
		c = json_object_array_get_idx(chains, i);
		if (!json_object_object_get_ex(c, "name", &v) ||
		    !json_object_object_get_ex(c, "rules", &rules))
			continue;
		own = strcmp(json_object_get_string(v), chain) == 0;
		for (j = 0; j < json_object_array_length(rules); j++) {
			r = json_object_array_get_idx(rules, j);
			if (!own && (!json_object_object_get_ex(r, "comment",
			    &cm) || !json_object_is_type(cm, json_type_string) ||
			    strncmp(json_object_get_string(cm), chain, len) !=
			    0 || json_object_get_string(cm)[len] != ':'))
				continue;
			f = json_object_new_object();
			json_object_object_add(f, "chain", json_object_get(v));
			json_object_object_foreach(r, key, val)
				json_object_object_add(f, key,
				    json_object_get(val));
			json_object_array_add(out, f);
		}
	}
	return out;
}

struct json_object *
net_ctr_show(struct ctr *k, char **cause)
{
	struct net *n = net_of(k->cmld);
	struct json_object *o, *a, *i, *t;
	char chain[sizeof NET_FW_CHAIN_PREFIX + NET_FW_ID_MAX];
	size_t x, y;
	int held;

	if (!k->cfg_ok) {
		xcause(cause, "its stored config no longer parses");
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "mode", json_object_new_string(
	    k->cfg.is_c0 ? "c0" : k->cfg.net.mode == CCONFIG_NET_LINK ?
	    "link" : "island"));
	json_object_object_add(o, "running",
	    json_object_new_boolean(k->rt != NULL));
	json_object_object_add(o, "link", k->net != NULL &&
	    k->net->link[0] != '\0' ? net_json_link(k->net) : NULL);
	a = json_object_new_array();
	for (x = 0; x < k->cfg.net.ndns; x++)
		json_object_array_add(a,
		    json_object_new_string(k->cfg.net.dns[x]));
	json_object_object_add(o, "dns", a);
	a = json_object_new_array();
	for (x = 0; x < k->cfg.net.ninterfaces; x++) {
		held = 0;
		for (y = 0; k->net != NULL && y < k->net->nifaces; y++)
			if (strcmp(k->net->ifaces[y],
			    k->cfg.net.interfaces[x]) == 0)
				held = 1;
		i = json_object_new_object();
		json_object_object_add(i, "name",
		    json_object_new_string(k->cfg.net.interfaces[x]));
		json_object_object_add(i, "held",
		    json_object_new_boolean(held));
		json_object_array_add(a, i);
	}
	json_object_object_add(o, "interfaces", a);
	t = NULL;
	if (k->net != NULL && k->net->rules && n != NULL && n->fw != NULL &&
	    (t = net_fw_list(n->fw, cause)) == NULL) {
		json_object_put(o);
		return NULL;
	}
	snprintf(chain, sizeof chain, NET_FW_CHAIN_PREFIX "%s", k->name);
	json_object_object_add(o, "rules", t != NULL ?
	    net_json_rules(t, chain) : json_object_new_array());
	json_object_put(t);
	return o;
}

/* Returns a comma-separated list (a setting; NULL: none) as an array. */
static struct json_object *
net_json_list(const char *list)
{
	struct json_object *a = json_object_new_array();
	const char *v[16];
	char *copy = xstrdup(list != NULL ? list : "");
	size_t i, n;

	n = net_split(copy, v, sizeof v / sizeof *v);
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	free(copy);
	return a;
}

struct json_object *
net_status(struct cmld *cmld, char **cause)
{
	struct net *n = net_of(cmld);
	struct json_object *o, *b, *p, *a, *s, *t = NULL, *r, *g;
	struct net_pool pool;
	struct ctr *k;
	char chain[sizeof NET_FW_CHAIN_PREFIX + NET_FW_ID_MAX];
	char *v4, *v6, *why = NULL;
	size_t i, used = 0, cnt;
	int present = 0;

	if (n != NULL && n->fw != NULL) {
		if ((t = net_fw_list(n->fw, cause)) == NULL)
			return NULL;
		present = net_base_present(n, &why);
		free(why);
		why = NULL;
	}
	o = json_object_new_object();
	b = json_object_new_object();
	json_object_object_add(b, "loaded",
	    json_object_new_boolean(present == 1));
	json_object_object_add(b, "table",
	    json_object_new_string("inet " NET_FW_TABLE));
	json_object_object_add(b, "error", n != NULL && n->error != NULL ?
	    json_object_new_string(n->error) : NULL);
	json_object_object_add(o, "base_ruleset", b);

	v4 = store_setting_value(cmld->store, "net_pool_v4");
	v6 = store_setting_value(cmld->store, "net_pool_v6");
	p = json_object_new_object();
	json_object_object_add(p, "v4", *v4 != '\0' ?
	    json_object_new_string(v4) : NULL);
	json_object_object_add(p, "v6", *v6 != '\0' ?
	    json_object_new_string(v6) : NULL);
	free(v4);
	free(v6);
	if (net_pool_read(cmld, &pool, &why) == -1) {
		pool.size = 0;
		free(why);
		why = NULL;
	}
	TAILQ_FOREACH(k, &cmld->ctrs, entry)
		if (k->net != NULL && k->net->link[0] != '\0')
			used++;
	json_object_object_add(p, "size", json_object_new_int64(pool.size));
	json_object_object_add(p, "used", json_object_new_int64(
	    (int64_t)used));
	json_object_object_add(o, "pool", p);

	json_object_object_add(o, "masquerade", net_json_list(n != NULL ?
	    n->masquerade : NULL));
	g = json_object_new_object();
	json_object_object_add(g, "uplinks", net_json_list(n != NULL ?
	    n->guard : NULL));
	json_object_object_add(g, "ports", net_json_list(n != NULL &&
	    n->guard != NULL && *n->guard != '\0' ? n->c0_ports : NULL));
	json_object_object_add(o, "c0_guard", g);

	a = json_object_new_array();
	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		if (k->net == NULL || k->net->link[0] == '\0')
			continue;
		s = net_json_link(k->net);
		json_object_object_add(s, "container",
		    json_object_new_string(k->name));
		snprintf(chain, sizeof chain, NET_FW_CHAIN_PREFIX "%s",
		    k->name);
		r = t != NULL ? net_json_rules(t, chain) : NULL;
		cnt = r != NULL ? json_object_array_length(r) : 0;
		json_object_put(r);
		json_object_object_add(s, "rules",
		    json_object_new_int64((int64_t)cnt));
		json_object_array_add(a, s);
	}
	json_object_object_add(o, "segments", a);
	a = json_object_new_array();
	TAILQ_FOREACH(k, &cmld->ctrs, entry) {
		for (i = 0; k->net != NULL && i < k->net->nifaces; i++) {
			s = json_object_new_object();
			json_object_object_add(s, "name",
			    json_object_new_string(k->net->ifaces[i]));
			json_object_object_add(s, "container",
			    json_object_new_string(k->name));
			json_object_array_add(a, s);
		}
	}
	json_object_object_add(o, "interfaces", a);
	json_object_put(t);
	return o;
}

struct json_object *
net_rules(struct cmld *cmld, char **cause)
{
	struct net *n = net_of(cmld);

	if (n == NULL || n->fw == NULL) {
		xcause(cause, "the network is not usable: %s", n != NULL &&
		    n->error != NULL ? n->error : "not set up");
		return NULL;
	}
	return net_fw_list(n->fw, cause);
}
