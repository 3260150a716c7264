/*
 * The firewall of the container links through libnftnl: see net-fw.h for
 * the ruleset's shape.
 *
 * Every change is one transaction: the messages are built first (a "plan",
 * each message with a description of what it is), then sent as one
 * nfnetlink batch, each with NLM_F_ACK.  The kernel applies a batch whole or
 * not at all; the answers say which message it refused, so a cause names
 * the rule.  The rules carry their description as their nftables comment,
 * "ctr-<id>: ...", by which the rules a container left in the base chains
 * are found again, also by a cmld that restarted.
 *
 * Chain order matters in two places.  In "forward", the rule that drops
 * traffic between two container links comes first, and the containers'
 * jumps are appended after it.  In "input" and "output", the containers'
 * jumps (and c0's management allowances) are inserted at the head, before
 * the final rule that drops whatever else arrives on or leaves through a
 * container link.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "log.h"
#include "net-fw.h"
#include "netns.h"
#include "xmalloc.h"

/* The longest description of a message: a rule's comment, and the kernel
 * keeps at most NFTNL_UDATA_COMMENT_MAXLEN of it. */
#define FW_WHAT_MAX NFTNL_UDATA_COMMENT_MAXLEN
/* The most allowances of each kind one container may have, and the most
 * masquerading uplinks: bounds the size of a transaction. */
#define FW_LIST_MAX 64
/* A batch's page, and the most one message may take. */
#define FW_BATCH_PAGE 65536
/* The receive buffer for answers and dumps. */
#define FW_RECV_SIZE 65536
/* How long to wait for answers the kernel has not queued yet. */
#define FW_ANSWER_TIMEOUT_MS 2000
/* How often a dump interrupted by a concurrent change is tried again. */
#define FW_DUMP_TRIES 3

/* The base chains, as in the kernel's table. */
#define FW_FORWARD "forward"
#define FW_INPUT "input"
#define FW_OUTPUT "output"
#define FW_PREROUTING "prerouting"
#define FW_POSTROUTING "postrouting"

/* An open netfilter netlink socket and its next sequence number. */
struct net_fw {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

/* One message of a transaction: the object it carries (one of table, chain
 * and rule) and what it is, for causes and plans. */
struct fw_msg {
	uint16_t type;	/* NFT_MSG_* */
	uint16_t flags; /* NLM_F_* besides NLM_F_REQUEST and NLM_F_ACK */
	struct nftnl_table *table;
	struct nftnl_chain *chain;
	struct nftnl_rule *rule;
	char what[FW_WHAT_MAX + 64];
};

/* A transaction being built. */
struct fw_tx {
	struct fw_msg *msgs;
	size_t n;
	size_t cap;
};

/* Allocates an expression; aborts on exhaustion like xmalloc. */
static struct nftnl_expr *
fw_expr(const char *name)
{
	struct nftnl_expr *e;

	if ((e = nftnl_expr_alloc(name)) == NULL)
		fatalx("net-fw: cannot allocate a '%s' expression", name);
	return e;
}

/* Adds a message slot to the transaction and returns it, described by the
 * formatted text. */
static struct fw_msg *
fw_tx_add(struct fw_tx *tx, uint16_t type, uint16_t flags, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static struct fw_msg *
fw_tx_add(struct fw_tx *tx, uint16_t type, uint16_t flags, const char *fmt,
    ...)
{
	struct fw_msg *m;
	va_list ap;

	if (tx->n == tx->cap) {
		tx->cap = tx->cap == 0 ? 32 : tx->cap * 2;
		tx->msgs = xreallocarray(tx->msgs, tx->cap, sizeof(*tx->msgs));
	}
	m = &tx->msgs[tx->n++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->flags = flags;
	va_start(ap, fmt);
	vsnprintf(m->what, sizeof(m->what), fmt, ap);
	va_end(ap);
	return m;
}

/* Frees the transaction's objects; the transaction itself may be reused. */
static void
fw_tx_clear(struct fw_tx *tx)
{
	size_t i;

	for (i = 0; i < tx->n; i++) {
		if (tx->msgs[i].table != NULL)
			nftnl_table_free(tx->msgs[i].table);
		if (tx->msgs[i].chain != NULL)
			nftnl_chain_free(tx->msgs[i].chain);
		if (tx->msgs[i].rule != NULL)
			nftnl_rule_free(tx->msgs[i].rule);
	}
	free(tx->msgs);
	memset(tx, 0, sizeof(*tx));
}

/* Adds a message about table inet cml (NFT_MSG_NEWTABLE or DELTABLE). */
static void
fw_tx_table(struct fw_tx *tx, uint16_t type, uint16_t flags, const char *what)
{
	struct fw_msg *m;

	m = fw_tx_add(tx, type, flags, "%s", what);
	if ((m->table = nftnl_table_alloc()) == NULL)
		fatalx("net-fw: cannot allocate a table");
	nftnl_table_set_u32(m->table, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(m->table, NFTNL_TABLE_NAME, NET_FW_TABLE);
}

/* Adds a message about a chain of the table; a base chain when type (the
 * chain's type, "filter" or "nat") is not NULL, with its hook, priority and
 * policy. */
static void
fw_tx_chain(struct fw_tx *tx, uint16_t msgtype, uint16_t flags,
    const char *name, const char *type, uint32_t hook, int32_t prio,
    uint32_t policy)
{
	struct fw_msg *m;

	m = fw_tx_add(tx, msgtype, flags, "chain %s", name);
	if ((m->chain = nftnl_chain_alloc()) == NULL)
		fatalx("net-fw: cannot allocate a chain");
	nftnl_chain_set_u32(m->chain, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(m->chain, NFTNL_CHAIN_TABLE, NET_FW_TABLE);
	nftnl_chain_set_str(m->chain, NFTNL_CHAIN_NAME, name);
	if (type != NULL) {
		nftnl_chain_set_str(m->chain, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(m->chain, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(m->chain, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(m->chain, NFTNL_CHAIN_POLICY, policy);
	}
}

/* Adds a new rule in a chain, with the comment that describes it, and
 * returns it for its expressions.  Without NLM_F_APPEND in flags the
 * kernel puts it at the head of the chain. */
static struct nftnl_rule *
fw_tx_rule(struct fw_tx *tx, uint16_t flags, const char *chain,
    const char *comment)
{
	struct nftnl_udata_buf *ud;
	struct fw_msg *m;

	m = fw_tx_add(tx, NFT_MSG_NEWRULE, flags, "rule \"%s\" in chain %s",
	    comment, chain);
	if ((m->rule = nftnl_rule_alloc()) == NULL)
		fatalx("net-fw: cannot allocate a rule");
	nftnl_rule_set_u32(m->rule, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(m->rule, NFTNL_RULE_TABLE, NET_FW_TABLE);
	nftnl_rule_set_str(m->rule, NFTNL_RULE_CHAIN, chain);
	if ((ud = nftnl_udata_buf_alloc(FW_WHAT_MAX + 8)) == NULL)
		fatalx("net-fw: cannot allocate a rule's comment");
	/* The callers' comments are bounded below the kernel's limit. */
	if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment))
		fatalx("net-fw: comment too long: %s", comment);
	nftnl_rule_set_data(m->rule, NFTNL_RULE_USERDATA,
	    nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	return m->rule;
}

/* Appends: load meta key into register 1. */
static void
fw_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = fw_expr("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

/* Appends: compare register 1 with len bytes of data (op NFT_CMP_*). */
static void
fw_cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = fw_expr("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

/* Appends: load len bytes at offset of a packet header into register 1. */
static void
fw_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = fw_expr("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
}

/* Appends: register 1 = (register 1 & mask) ^ 0, over len bytes. */
static void
fw_and(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	struct nftnl_expr *e = fw_expr("bitwise");
	unsigned char zero[16] = { 0 };

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	nftnl_rule_add_expr(r, e);
}

/* Appends: the interface (NFT_META_IIFNAME or OIFNAME) is name, or starts
 * with it when prefix is set (nft's "name*"). */
static void
fw_ifname(struct nftnl_rule *r, uint32_t key, const char *name, int prefix)
{
	char buf[NET_FW_IFNAME_MAX + 1] = { 0 };

	fw_meta(r, key);
	/* Names are checked to fit before any rule is built. */
	strncpy(buf, name, sizeof(buf) - 1);
	fw_cmp(r, NFT_CMP_EQ, buf, prefix ? strlen(buf) : sizeof(buf));
}

/* Appends: the conntrack key (NFT_CT_STATE or NFT_CT_STATUS) has one of
 * the bits. */
static void
fw_ct_any(struct nftnl_rule *r, uint32_t key, uint32_t bits)
{
	struct nftnl_expr *e = fw_expr("ct");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, e);
	fw_and(r, &bits, sizeof(bits));
	fw_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* Appends: the packet is of the prefix's family, and its destination lies
 * in the prefix. */
static void
fw_daddr(struct nftnl_rule *r, const struct net_fw_prefix *p)
{
	unsigned char mask[16] = { 0 }, net[16] = { 0 };
	uint8_t nfproto;
	uint32_t alen, off, i;

	if (p->family == AF_INET) {
		nfproto = NFPROTO_IPV4;
		alen = 4;
		off = 16; /* struct iphdr's daddr */
	} else {
		nfproto = NFPROTO_IPV6;
		alen = 16;
		off = 24; /* struct ipv6hdr's daddr */
	}
	fw_meta(r, NFT_META_NFPROTO);
	fw_cmp(r, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	if (p->len == 0)
		return;
	fw_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, alen);
	if (p->len < alen * 8) {
		for (i = 0; i < p->len; i++)
			mask[i / 8] |= 0x80 >> (i % 8);
		for (i = 0; i < alen; i++)
			net[i] = p->addr[i] & mask[i];
		fw_and(r, mask, alen);
		fw_cmp(r, NFT_CMP_EQ, net, alen);
	} else
		fw_cmp(r, NFT_CMP_EQ, p->addr, alen);
}

/* Appends: the transport protocol and, if not 0, the destination port. */
static void
fw_dport(struct nftnl_rule *r, const struct net_fw_port *pp, uint16_t port)
{
	uint8_t l4 = pp->proto;
	uint16_t be = htons(port);

	if (pp->proto == 0)
		return;
	fw_meta(r, NFT_META_L4PROTO);
	fw_cmp(r, NFT_CMP_EQ, &l4, sizeof(l4));
	if (port == 0)
		return;
	fw_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, sizeof(be));
	fw_cmp(r, NFT_CMP_EQ, &be, sizeof(be));
}

/* Appends a match of ICMPv6 messages of type. */
static void
fw_icmpv6_type(struct nftnl_rule *r, uint8_t type)
{
	uint8_t icmp6 = IPPROTO_ICMPV6, nfp6 = NFPROTO_IPV6;

	fw_meta(r, NFT_META_NFPROTO);
	fw_cmp(r, NFT_CMP_EQ, &nfp6, sizeof(nfp6));
	fw_meta(r, NFT_META_L4PROTO);
	fw_cmp(r, NFT_CMP_EQ, &icmp6, sizeof(icmp6));
	fw_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	fw_cmp(r, NFT_CMP_EQ, &type, sizeof(type));
}

/* Appends the verdict: NF_ACCEPT, NF_DROP, or NFT_JUMP to chain. */
static void
fw_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e;

	if (verdict == NF_DROP) {
		/* What is dropped is counted: `net rules` shows it. */
		nftnl_rule_add_expr(r, fw_expr("counter"));
	}
	e = fw_expr("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	if (chain != NULL)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	nftnl_rule_add_expr(r, e);
}

/* Appends: destination NAT to the address and port (network order). */
static void
fw_dnat(struct nftnl_rule *r, const struct net_fw_prefix *to, uint16_t port)
{
	struct nftnl_expr *e;
	uint16_t be = htons(port);

	e = fw_expr("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, to->addr,
	    to->family == AF_INET ? 4 : 16);
	nftnl_rule_add_expr(r, e);
	e = fw_expr("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_2);
	nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, &be, sizeof(be));
	nftnl_rule_add_expr(r, e);
	e = fw_expr("nat");
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY,
	    to->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, NFT_REG_2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
	    NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
	nftnl_rule_add_expr(r, e);
}

/* Formats a rule's comment into c (FW_WHAT_MAX bytes).  Cutting a long
 * one short is harmless: only its head, "ctr-<id>: ", identifies it, and
 * that always fits. */
static void
fw_comment(char *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fw_comment(char *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c, FW_WHAT_MAX, fmt, ap);
	va_end(ap);
}

/* Returns the name of a protocol of an allowance. */
static const char *
fw_proto_name(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	default:
		return "any";
	}
}

/* Formats a protocol and port as "tcp/443", "tcp" or "any". */
static void
fw_port_format(const struct net_fw_port *pp, char *buf, size_t len)
{
	if (pp->proto != 0 && pp->port != 0)
		snprintf(buf, len, "%s/%u", fw_proto_name(pp->proto), pp->port);
	else
		snprintf(buf, len, "%s", fw_proto_name(pp->proto));
}

void
net_fw_prefix_format(const struct net_fw_prefix *p, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (inet_ntop(p->family, p->addr, addr, sizeof(addr)) == NULL)
		snprintf(addr, sizeof(addr), "?");
	snprintf(buf, len, "%s/%u", addr, p->len);
}

int
net_fw_prefix_parse(const char *s, struct net_fw_prefix *p, char **cause)
{
	char addr[INET6_ADDRSTRLEN + 1], *end;
	const char *slash;
	unsigned long len;
	unsigned int max, i;
	size_t alen;

	memset(p, 0, sizeof(*p));
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr)) {
		xcause(cause, "'%s' is no IPv4 or IPv6 address", s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		xcause(cause, "'%s' is no IPv4 or IPv6 address", s);
		return -1;
	}
	p->len = max;
	if (slash != NULL) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end != '\0' ||
		    errno != 0 || len > max) {
			xcause(cause, "'%s': the prefix length must be 0 to %u",
			    s, max);
			return -1;
		}
		p->len = len;
	}
	for (i = p->len; i < max; i++) {
		if (p->addr[i / 8] & (0x80 >> (i % 8))) {
			xcause(cause, "'%s' has address bits set past /%u",
			    s, p->len);
			return -1;
		}
	}
	return 0;
}

/* Checks an interface name as the kernel takes it; -1 with a cause saying
 * whose (what) it is. */
static int
fw_check_ifname(const char *name, const char *what, char **cause)
{
	if (name == NULL || *name == '\0') {
		xcause(cause, "%s: no interface name", what);
		return -1;
	}
	if (strlen(name) > NET_FW_IFNAME_MAX) {
		xcause(cause, "%s: interface name '%s' is longer than %d",
		    what, name, NET_FW_IFNAME_MAX);
		return -1;
	}
	/* '*' is nftables' wildcard: a name matched exactly has none. */
	if (!names_ifname_ok(name, strlen(name)) || strchr(name, '*') != NULL) {
		xcause(cause, "%s: '%s' is no interface name", what, name);
		return -1;
	}
	return 0;
}

/* Checks a prefix's family and length (a prefix that came from elsewhere
 * than net_fw_prefix_parse); full when it must be one address. */
static int
fw_check_prefix(const struct net_fw_prefix *p, int full, const char *what,
    char **cause)
{
	unsigned int max, i;

	if (p->family != AF_INET && p->family != AF_INET6) {
		xcause(cause, "%s: address family %d is neither IPv4 nor IPv6",
		    what, p->family);
		return -1;
	}
	max = p->family == AF_INET ? 32 : 128;
	if (p->len > max || (full && p->len != max)) {
		xcause(cause, "%s: prefix length %u, must be %s%u", what,
		    p->len, full ? "" : "0 to ", max);
		return -1;
	}
	for (i = p->len; i < max; i++) {
		if (p->addr[i / 8] & (0x80 >> (i % 8))) {
			xcause(cause, "%s: address bits set past /%u", what,
			    p->len);
			return -1;
		}
	}
	return 0;
}

/* Checks a protocol and port; needport when a port is required. */
static int
fw_check_port(const struct net_fw_port *pp, int needport, const char *what,
    char **cause)
{
	if (pp->proto != 0 && pp->proto != IPPROTO_TCP &&
	    pp->proto != IPPROTO_UDP) {
		xcause(cause, "%s: protocol %d is neither tcp nor udp", what,
		    pp->proto);
		return -1;
	}
	if (pp->proto == 0 && (pp->port != 0 || needport)) {
		xcause(cause, "%s: a port needs tcp or udp", what);
		return -1;
	}
	if (needport && pp->port == 0) {
		xcause(cause, "%s: no port", what);
		return -1;
	}
	return 0;
}

int
net_fw_ctr_check(const struct net_fw_ctr *ctr, char **cause)
{
	char what[FW_WHAT_MAX];
	size_t i;

	/* A container's name: it ends at the first ':' of a comment. */
	if (ctr->id == NULL || !names_container_ok(ctr->id)) {
		xcause(cause, "'%s' is no container name for a firewall chain",
		    ctr->id != NULL ? ctr->id : "");
		return -1;
	}
	snprintf(what, sizeof(what), "container '%s': its link", ctr->id);
	if (fw_check_ifname(ctr->link, what, cause) == -1)
		return -1;
	if (ctr->negress > FW_LIST_MAX || ctr->nforward > FW_LIST_MAX ||
	    ctr->nmgmt > FW_LIST_MAX) {
		xcause(cause, "container '%s': more than %d allowances of a "
			      "kind", ctr->id, FW_LIST_MAX);
		return -1;
	}
	for (i = 0; i < ctr->negress; i++) {
		const struct net_fw_egress *eg = &ctr->egress[i];

		snprintf(what, sizeof(what), "container '%s': egress %zu",
		    ctr->id, i + 1);
		if (fw_check_ifname(eg->uplink, what, cause) == -1 ||
		    fw_check_prefix(&eg->dst, 0, what, cause) == -1 ||
		    fw_check_port(&eg->port, 0, what, cause) == -1)
			return -1;
		if (strcmp(eg->uplink, ctr->link) == 0) {
			xcause(cause, "%s: the uplink is the container's link",
			    what);
			return -1;
		}
	}
	for (i = 0; i < ctr->nforward; i++) {
		const struct net_fw_forward *fwd = &ctr->forward[i];

		snprintf(what, sizeof(what),
		    "container '%s': port forward %zu", ctr->id, i + 1);
		if (fw_check_ifname(fwd->uplink, what, cause) == -1 ||
		    fw_check_port(&fwd->port, 1, what, cause) == -1 ||
		    fw_check_prefix(&fwd->to_addr, 1, what, cause) == -1)
			return -1;
		if (strcmp(fwd->uplink, ctr->link) == 0) {
			xcause(cause, "%s: the uplink is the container's link",
			    what);
			return -1;
		}
	}
	for (i = 0; i < ctr->nmgmt; i++) {
		snprintf(what, sizeof(what),
		    "container '%s': management port %zu", ctr->id, i + 1);
		if (fw_check_port(&ctr->mgmt[i], 1, what, cause) == -1)
			return -1;
	}
	return 0;
}

/* Builds the messages that add a container's chain and rules into tx;
 * the container is checked. */
static void
fw_plan_ctr(struct fw_tx *tx, const struct net_fw_ctr *ctr)
{
	char chain[sizeof(NET_FW_CHAIN_PREFIX) + NET_FW_ID_MAX];
	char c[FW_WHAT_MAX], pfx[NET_FW_PREFIX_STRLEN], port[32];
	struct nftnl_rule *r;
	uint8_t type;
	size_t i;

	snprintf(chain, sizeof(chain), NET_FW_CHAIN_PREFIX "%s", ctr->id);
	/* An existing chain is a container's leftover: refuse, not merge. */
	fw_tx_chain(tx, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, chain,
	    NULL, 0, 0, 0);

	fw_comment(c, "%s: established, related", chain);
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, chain, c);
	fw_ct_any(r, NFT_CT_STATE,
	    NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
		NF_CT_STATE_BIT(IP_CT_RELATED));
	fw_verdict(r, NF_ACCEPT, NULL);

	/* IPv6 needs neighbour discovery between c0 and the container. */
	for (type = 135; type <= 136; type++) {
		fw_comment(c, "%s: neighbour %s", chain,
		    type == 135 ? "solicitation" : "advertisement");
		r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, chain, c);
		fw_icmpv6_type(r, type);
		fw_verdict(r, NF_ACCEPT, NULL);
	}

	for (i = 0; i < ctr->negress; i++) {
		const struct net_fw_egress *eg = &ctr->egress[i];

		net_fw_prefix_format(&eg->dst, pfx, sizeof(pfx));
		fw_port_format(&eg->port, port, sizeof(port));
		fw_comment(c, "%s: egress %s %s via %s", chain, pfx,
		    port, eg->uplink);
		r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, chain, c);
		fw_ifname(r, NFT_META_IIFNAME, ctr->link, 0);
		fw_ifname(r, NFT_META_OIFNAME, eg->uplink, 0);
		fw_daddr(r, &eg->dst);
		fw_dport(r, &eg->port, eg->port.port);
		fw_verdict(r, NF_ACCEPT, NULL);
	}

	for (i = 0; i < ctr->nforward; i++) {
		const struct net_fw_forward *fwd = &ctr->forward[i];
		uint16_t to = fwd->to_port != 0 ? fwd->to_port : fwd->port.port;

		if (inet_ntop(fwd->to_addr.family, fwd->to_addr.addr, pfx,
			sizeof(pfx)) == NULL)
			snprintf(pfx, sizeof(pfx), "?");
		fw_port_format(&fwd->port, port, sizeof(port));
		fw_comment(c, "%s: forward %s %s to %s port %u",
		    chain, fwd->uplink, port, pfx, to);
		/* Only what the port forward translated passes. */
		r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, chain, c);
		fw_ifname(r, NFT_META_IIFNAME, fwd->uplink, 0);
		fw_ifname(r, NFT_META_OIFNAME, ctr->link, 0);
		fw_daddr(r, &fwd->to_addr);
		fw_dport(r, &fwd->port, to);
		fw_ct_any(r, NFT_CT_STATUS, IPS_DST_NAT);
		fw_verdict(r, NF_ACCEPT, NULL);

		r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_PREROUTING,
		    c);
		fw_ifname(r, NFT_META_IIFNAME, fwd->uplink, 0);
		fw_meta(r, NFT_META_NFPROTO);
		fw_cmp(r, NFT_CMP_EQ,
		    &(uint8_t){ fwd->to_addr.family == AF_INET ? NFPROTO_IPV4 :
								   NFPROTO_IPV6 },
		    1);
		fw_dport(r, &fwd->port, fwd->port.port);
		fw_dnat(r, &fwd->to_addr, to);
	}

	fw_comment(c, "%s: everything else", chain);
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, chain, c);
	fw_verdict(r, NF_DROP, NULL);

	/* The base chains send the link's traffic to the container's chain.
	 * In input and output each rule goes to the head, so the management
	 * allowances, added last, come before the jump. */
	fw_comment(c, "%s: from %s", chain, ctr->link);
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_FORWARD, c);
	fw_ifname(r, NFT_META_IIFNAME, ctr->link, 0);
	fw_verdict(r, NFT_JUMP, chain);
	fw_comment(c, "%s: to %s", chain, ctr->link);
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_FORWARD, c);
	fw_ifname(r, NFT_META_OIFNAME, ctr->link, 0);
	fw_verdict(r, NFT_JUMP, chain);
	fw_comment(c, "%s: from %s to c0", chain, ctr->link);
	r = fw_tx_rule(tx, NLM_F_CREATE, FW_INPUT, c);
	fw_ifname(r, NFT_META_IIFNAME, ctr->link, 0);
	fw_verdict(r, NFT_JUMP, chain);
	fw_comment(c, "%s: from c0 to %s", chain, ctr->link);
	r = fw_tx_rule(tx, NLM_F_CREATE, FW_OUTPUT, c);
	fw_ifname(r, NFT_META_OIFNAME, ctr->link, 0);
	fw_verdict(r, NFT_JUMP, chain);
	for (i = 0; i < ctr->nmgmt; i++) {
		fw_port_format(&ctr->mgmt[i], port, sizeof(port));
		fw_comment(c, "%s: management %s from c0", chain,
		    port);
		r = fw_tx_rule(tx, NLM_F_CREATE, FW_OUTPUT, c);
		fw_ifname(r, NFT_META_OIFNAME, ctr->link, 0);
		fw_dport(r, &ctr->mgmt[i], ctr->mgmt[i].port);
		fw_verdict(r, NF_ACCEPT, NULL);
	}
}

/* Returns what a message does to its object: "add" or "delete". */
static const char *
fw_msg_verb(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_NEWRULE:
		return "add";
	default:
		return "delete";
	}
}

/*
 * A rule's expressions in nft's words, as `nft list table inet cml` lists
 * them.  Each load is paired with the cmp that reads its register (with a
 * bitwise between them for a prefix or a set of bits); what cannot be
 * paired, or is of a kind not known here, stays in libnftnl's form, "[ ...
 * ]", so nothing in the kernel is ever shown as something it is not.  As
 * nft does, a match of the family ("meta nfproto") or of the transport
 * protocol ("meta l4proto") is left out where the match right after it
 * implies it: nft adds it again from the words alone ("ip daddr" needs
 * ipv4, "tcp dport" tcp, "icmpv6 type" both ipv6 and ipv6-icmp).
 */

/* What a rendered part is to a payload match right after it. */
enum fw_dep {
	FW_DEP_NONE,
	FW_DEP_NFPROTO, /* meta nfproto == val */
	FW_DEP_L4PROTO, /* meta l4proto == val */
};

/* A rule's expressions, and its parts in nft's words so far. */
struct fw_render {
	struct nftnl_expr **e;
	size_t n;
	char **part;
	enum fw_dep *dep;
	uint32_t *val;
	size_t np;
};

/* Returns one expression as libnftnl prints it, "[ NAME ... ]". */
static char *
fw_expr_raw(const struct nftnl_expr *e)
{
	char buf[512];

	if (nftnl_expr_snprintf(buf, sizeof(buf), e, NFTNL_OUTPUT_DEFAULT,
		0) < 0)
		snprintf(buf, sizeof(buf), "?");
	return xasprintf("[ %s %s]", nftnl_expr_get_str(e, NFTNL_EXPR_NAME),
	    buf);
}

/* Appends a part (taking text) and what it is to the match after it. */
static void
fw_render_add(struct fw_render *rd, char *text, enum fw_dep dep, uint32_t val)
{
	rd->part[rd->np] = text;
	rd->dep[rd->np] = dep;
	rd->val[rd->np] = val;
	rd->np++;
}

/* Returns whether part back (1: the last) is the dependency dep == val. */
static int
fw_render_has_dep(const struct fw_render *rd, size_t back, enum fw_dep dep,
    uint32_t val)
{
	return rd->np >= back && rd->dep[rd->np - back] == dep &&
	    rd->val[rd->np - back] == val;
}

/* Drops the last part: a dependency the next match implies. */
static void
fw_render_drop(struct fw_render *rd)
{
	free(rd->part[--rd->np]);
}

/* Returns whether expression i exists and is of the kind name. */
static int
fw_render_is(const struct fw_render *rd, size_t i, const char *name)
{
	return i < rd->n &&
	    strcmp(nftnl_expr_get_str(rd->e[i], NFTNL_EXPR_NAME), name) == 0;
}

/* Returns whether len bytes at p are all zero. */
static int
fw_zero(const unsigned char *p, uint32_t len)
{
	while (len-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

/*
 * Finds what reads the register a load at i writes: a cmp right after it,
 * or a bitwise "reg = (reg & mask) ^ 0" on that register and then the cmp.
 * Returns how many expressions after the load that is (1 or 2; 0: none),
 * with the bitwise (or NULL) and the cmp.
 */
static size_t
fw_render_reader(const struct fw_render *rd, size_t i, uint32_t reg,
    const struct nftnl_expr **bw, const struct nftnl_expr **cmp)
{
	const struct nftnl_expr *b;
	const void *mask, *x;
	uint32_t mlen, xlen;

	*bw = NULL;
	if (fw_render_is(rd, i + 1, "bitwise")) {
		b = rd->e[i + 1];
		mask = nftnl_expr_get(b, NFTNL_EXPR_BITWISE_MASK, &mlen);
		x = nftnl_expr_get(b, NFTNL_EXPR_BITWISE_XOR, &xlen);
		if (nftnl_expr_get_u32(b, NFTNL_EXPR_BITWISE_SREG) != reg ||
		    nftnl_expr_get_u32(b, NFTNL_EXPR_BITWISE_DREG) != reg ||
		    (nftnl_expr_is_set(b, NFTNL_EXPR_BITWISE_OP) &&
			nftnl_expr_get_u32(b, NFTNL_EXPR_BITWISE_OP) !=
			    NFT_BITWISE_BOOL) ||
		    mask == NULL || x == NULL || mlen != xlen ||
		    mlen != nftnl_expr_get_u32(b, NFTNL_EXPR_BITWISE_LEN) ||
		    !fw_zero(x, xlen))
			return 0;
		*bw = b;
		i++;
	}
	if (!fw_render_is(rd, i + 1, "cmp") ||
	    nftnl_expr_get_u32(rd->e[i + 1], NFTNL_EXPR_CMP_SREG) != reg)
		return 0;
	*cmp = rd->e[i + 1];
	return *bw != NULL ? 2 : 1;
}

/* Returns nft's operator of a cmp and a space ("" for ==), or NULL when
 * only == and != make sense and it is another. */
static const char *
fw_render_op(const struct nftnl_expr *cmp, int ordered)
{
	switch (nftnl_expr_get_u32(cmp, NFTNL_EXPR_CMP_OP)) {
	case NFT_CMP_EQ:
		return "";
	case NFT_CMP_NEQ:
		return "!= ";
	case NFT_CMP_LT:
		return ordered ? "< " : NULL;
	case NFT_CMP_LTE:
		return ordered ? "<= " : NULL;
	case NFT_CMP_GT:
		return ordered ? "> " : NULL;
	case NFT_CMP_GTE:
		return ordered ? ">= " : NULL;
	default:
		return NULL;
	}
}

/* Returns nft's name of a transport protocol, or its number in buf. */
static const char *
fw_render_l4name(uint32_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMPV6:
		return "ipv6-icmp";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

/*
 * An interface name as nft shows it, quoted, into buf: data padded with
 * NULs is an exact name, data shorter than IFNAMSIZ without one is a
 * prefix ("vc*").  -1 when it is neither, or holds a character nft would
 * quote differently.
 */
static int
fw_render_ifname(const unsigned char *data, uint32_t len, char *buf,
    size_t size)
{
	const unsigned char *nul;
	uint32_t n, i;
	int prefix;

	if (len == 0 || len > NET_FW_IFNAME_MAX + 1)
		return -1;
	if ((nul = memchr(data, '\0', len)) != NULL) {
		n = nul - data;
		if (n == 0 || !fw_zero(nul, len - n))
			return -1;
		prefix = 0;
	} else if (len <= NET_FW_IFNAME_MAX) {
		n = len;
		prefix = 1;
	} else
		return -1;
	for (i = 0; i < n; i++) {
		if (!isgraph(data[i]) || data[i] == '"' || data[i] == '\\' ||
		    data[i] == '*')
			return -1;
	}
	snprintf(buf, size, "\"%.*s%s\"", (int)n, (const char *)data,
	    prefix ? "*" : "");
	return 0;
}

/* meta iifname, oifname, nfproto, l4proto and its cmp. */
static size_t
fw_render_meta(struct fw_render *rd, size_t i)
{
	const struct nftnl_expr *e = rd->e[i], *bw, *cmp;
	const unsigned char *d;
	const char *op, *name;
	char buf[NET_FW_IFNAME_MAX + 8], num[16];
	uint32_t key, reg, len, val;
	size_t k;

	if (!nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG))
		return 0;
	key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
	reg = nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG);
	if ((k = fw_render_reader(rd, i, reg, &bw, &cmp)) == 0 || bw != NULL ||
	    (op = fw_render_op(cmp, 0)) == NULL)
		return 0;
	d = nftnl_expr_get(cmp, NFTNL_EXPR_CMP_DATA, &len);
	switch (key) {
	case NFT_META_IIFNAME:
	case NFT_META_OIFNAME:
		if (d == NULL || fw_render_ifname(d, len, buf, sizeof(buf)) == -1)
			return 0;
		fw_render_add(rd, xasprintf("%s %s%s", key == NFT_META_IIFNAME ?
		    "iifname" : "oifname", op, buf), FW_DEP_NONE, 0);
		return 1 + k;
	case NFT_META_NFPROTO:
	case NFT_META_L4PROTO:
		if (d == NULL || len != 1)
			return 0;
		val = d[0];
		if (key == NFT_META_L4PROTO)
			name = fw_render_l4name(val, num, sizeof(num));
		else if (val == NFPROTO_IPV4 || val == NFPROTO_IPV6)
			name = val == NFPROTO_IPV4 ? "ipv4" : "ipv6";
		else {
			snprintf(num, sizeof(num), "%u", val);
			name = num;
		}
		fw_render_add(rd, xasprintf("meta %s %s%s",
		    key == NFT_META_L4PROTO ? "l4proto" : "nfproto", op, name),
		    *op != '\0' ? FW_DEP_NONE : key == NFT_META_L4PROTO ?
		    FW_DEP_L4PROTO : FW_DEP_NFPROTO, val);
		return 1 + k;
	default:
		return 0;
	}
}

/* Returns nft's name of an ICMPv6 type, or its number in buf. */
static const char *
fw_render_icmp6name(uint8_t type, char *buf, size_t len)
{
	static const struct {
		uint8_t type;
		const char *name;
	} names[] = {
		{ 1, "destination-unreachable" }, { 2, "packet-too-big" },
		{ 3, "time-exceeded" }, { 4, "parameter-problem" },
		{ 128, "echo-request" }, { 129, "echo-reply" },
		{ 133, "nd-router-solicit" }, { 134, "nd-router-advert" },
		{ 135, "nd-neighbor-solicit" }, { 136, "nd-neighbor-advert" },
		{ 137, "nd-redirect" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, len, "%u", type);
	return buf;
}

/*
 * payload: ip/ip6 saddr and daddr (a prefix through a bitwise), tcp/udp
 * sport and dport, icmpv6 type, and its cmp; only right after the
 * dependencies its words imply, which it then takes the place of.
 */
static size_t
fw_render_payload(struct fw_render *rd, size_t i)
{
	const struct nftnl_expr *e = rd->e[i], *bw, *cmp;
	const unsigned char *d, *m = NULL;
	const char *op, *what;
	char addr[INET6_ADDRSTRLEN], num[16];
	uint32_t base, off, len, dlen, mlen = 0, plen, bits;
	uint16_t port;
	int family;
	size_t k;

	if (!nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_DREG) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG) ||
	    (k = fw_render_reader(rd, i,
		 nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), &bw, &cmp)) ==
		0)
		return 0;
	base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
	off = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
	len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
	d = nftnl_expr_get(cmp, NFTNL_EXPR_CMP_DATA, &dlen);
	if (d == NULL || dlen != len)
		return 0;
	if (bw != NULL) {
		m = nftnl_expr_get(bw, NFTNL_EXPR_BITWISE_MASK, &mlen);
		if (mlen != len)
			return 0;
	}

	if (base == NFT_PAYLOAD_NETWORK_HEADER) {
		if (len == 4 && (off == 12 || off == 16))
			family = AF_INET;
		else if (len == 16 && (off == 8 || off == 24))
			family = AF_INET6;
		else
			return 0;
		if (!fw_render_has_dep(rd, 1, FW_DEP_NFPROTO,
			family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6) ||
		    (op = fw_render_op(cmp, 0)) == NULL)
			return 0;
		/* A prefix: leading ones in the mask, nothing past them. */
		plen = len * 8;
		if (m != NULL) {
			for (plen = 0; plen < len * 8 &&
			     (m[plen / 8] & (0x80 >> (plen % 8))); plen++)
				;
			for (bits = plen; bits < len * 8; bits++)
				if ((m[bits / 8] | d[bits / 8]) &
				    (0x80 >> (bits % 8)))
					return 0;
		}
		if (inet_ntop(family, d, addr, sizeof(addr)) == NULL)
			return 0;
		fw_render_drop(rd);
		snprintf(num, sizeof(num), "/%u", plen);
		fw_render_add(rd, xasprintf("%s %s %s%s%s",
		    family == AF_INET ? "ip" : "ip6",
		    off == 12 || off == 8 ? "saddr" : "daddr", op, addr,
		    plen < len * 8 ? num : ""), FW_DEP_NONE, 0);
		return 1 + k;
	}
	if (base != NFT_PAYLOAD_TRANSPORT_HEADER || bw != NULL)
		return 0;
	if ((fw_render_has_dep(rd, 1, FW_DEP_L4PROTO, IPPROTO_TCP) ||
		fw_render_has_dep(rd, 1, FW_DEP_L4PROTO, IPPROTO_UDP)) &&
	    len == 2 && (off == 0 || off == 2)) {
		if ((op = fw_render_op(cmp, 1)) == NULL)
			return 0;
		memcpy(&port, d, sizeof(port));
		what = rd->val[rd->np - 1] == IPPROTO_TCP ? "tcp" : "udp";
		fw_render_drop(rd);
		fw_render_add(rd, xasprintf("%s %s %s%u", what,
		    off == 0 ? "sport" : "dport", op, ntohs(port)),
		    FW_DEP_NONE, 0);
		return 1 + k;
	}
	if (fw_render_has_dep(rd, 1, FW_DEP_L4PROTO, IPPROTO_ICMPV6) &&
	    fw_render_has_dep(rd, 2, FW_DEP_NFPROTO, NFPROTO_IPV6) &&
	    len == 1 && off == 0) {
		if ((op = fw_render_op(cmp, 0)) == NULL)
			return 0;
		fw_render_drop(rd);
		fw_render_drop(rd);
		fw_render_add(rd, xasprintf("icmpv6 type %s%s", op,
		    fw_render_icmp6name(d[0], num, sizeof(num))), FW_DEP_NONE,
		    0);
		return 1 + k;
	}
	return 0;
}

/* ct state and status, names by bit, as nft shows a set of them. */
static const struct fw_bitname {
	uint32_t bit;
	const char *name;
} fw_ct_state_names[] = {
	{ NF_CT_STATE_INVALID_BIT, "invalid" },
	{ NF_CT_STATE_BIT(IP_CT_ESTABLISHED), "established" },
	{ NF_CT_STATE_BIT(IP_CT_RELATED), "related" },
	{ NF_CT_STATE_BIT(IP_CT_NEW), "new" },
	{ NF_CT_STATE_UNTRACKED_BIT, "untracked" },
	{ 0, NULL },
}, fw_ct_status_names[] = {
	{ IPS_EXPECTED, "expected" },
	{ IPS_SEEN_REPLY, "seen-reply" },
	{ IPS_ASSURED, "assured" },
	{ IPS_CONFIRMED, "confirmed" },
	{ IPS_SRC_NAT, "snat" },
	{ IPS_DST_NAT, "dnat" },
	{ IPS_DYING, "dying" },
	{ 0, NULL },
};

/*
 * ct state or status with one of a set of bits: the load, a bitwise with
 * the bits and a cmp != 0 ("ct state established,related").
 */
static size_t
fw_render_ct(struct fw_render *rd, size_t i)
{
	const struct nftnl_expr *e = rd->e[i], *bw, *cmp;
	const struct fw_bitname *names;
	const unsigned char *d, *m;
	uint32_t key, dlen, mlen, mask, left;
	char *s, *tmp;
	size_t k;

	if (!nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_CT_SREG) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR))
		return 0;
	key = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY);
	if (key == NFT_CT_STATE)
		names = fw_ct_state_names;
	else if (key == NFT_CT_STATUS)
		names = fw_ct_status_names;
	else
		return 0;
	if ((k = fw_render_reader(rd, i,
		 nftnl_expr_get_u32(e, NFTNL_EXPR_CT_DREG), &bw, &cmp)) == 0 ||
	    bw == NULL ||
	    nftnl_expr_get_u32(cmp, NFTNL_EXPR_CMP_OP) != NFT_CMP_NEQ)
		return 0;
	d = nftnl_expr_get(cmp, NFTNL_EXPR_CMP_DATA, &dlen);
	m = nftnl_expr_get(bw, NFTNL_EXPR_BITWISE_MASK, &mlen);
	if (d == NULL || dlen != sizeof(mask) || !fw_zero(d, dlen) ||
	    mlen != sizeof(mask))
		return 0;
	memcpy(&mask, m, sizeof(mask));
	if (mask == 0)
		return 0;
	s = xstrdup("");
	for (left = mask; names->name != NULL; names++) {
		if ((mask & names->bit) == 0)
			continue;
		tmp = xasprintf("%s%s%s", s, *s != '\0' ? "," : "",
		    names->name);
		free(s);
		s = tmp;
		left &= ~names->bit;
	}
	if (left != 0) {
		free(s);
		return 0;
	}
	fw_render_add(rd, xasprintf("ct %s %s",
	    key == NFT_CT_STATE ? "state" : "status", s), FW_DEP_NONE, 0);
	free(s);
	return 1 + k;
}

/* counter, with what it counted. */
static size_t
fw_render_counter(struct fw_render *rd, size_t i)
{
	const struct nftnl_expr *e = rd->e[i];

	fw_render_add(rd, xasprintf("counter packets %llu bytes %llu",
	    (unsigned long long)nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS),
	    (unsigned long long)nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES)),
	    FW_DEP_NONE, 0);
	return 1;
}

/* Returns whether a chain's name is one nft shows without quotes. */
static int
fw_render_chain_ok(const char *name)
{
	const char *c;

	if (name == NULL || !isalpha((unsigned char)*name))
		return 0;
	for (c = name; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' &&
		    *c != '.')
			return 0;
	return c - name <= NFT_CHAIN_MAXNAMELEN;
}

/* An immediate verdict: accept, drop, continue, return, jump, goto. */
static size_t
fw_render_verdict(struct fw_render *rd, size_t i)
{
	const struct nftnl_expr *e = rd->e[i];
	const char *word, *chain;
	int32_t v;

	if (nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT))
		return 0;
	switch ((v = (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT))) {
	case NF_ACCEPT:
		word = "accept";
		break;
	case NF_DROP:
		word = "drop";
		break;
	case NFT_CONTINUE:
		word = "continue";
		break;
	case NFT_RETURN:
		word = "return";
		break;
	case NFT_JUMP:
	case NFT_GOTO:
		chain = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
		if (!fw_render_chain_ok(chain))
			return 0;
		fw_render_add(rd, xasprintf("%s %s",
		    v == NFT_JUMP ? "jump" : "goto", chain), FW_DEP_NONE, 0);
		return 1;
	default:
		return 0;
	}
	fw_render_add(rd, xstrdup(word), FW_DEP_NONE, 0);
	return 1;
}

/*
 * dnat or snat to one address and maybe one port: an immediate of the
 * address, perhaps one of the port, and the nat that reads them
 * ("dnat ip to 10.200.0.2:80", "dnat ip6 to [fd00::2]:80").
 */
static size_t
fw_render_nat(struct fw_render *rd, size_t i)
{
	const struct nftnl_expr *a = rd->e[i], *p = NULL, *nat;
	const unsigned char *ad, *pd = NULL;
	char addr[INET6_ADDRSTRLEN];
	uint32_t areg, preg = 0, alen, plen = 0, type, fam, flags;
	uint16_t port;
	int family;
	size_t k = 1;

	areg = nftnl_expr_get_u32(a, NFTNL_EXPR_IMM_DREG);
	if (areg == NFT_REG_VERDICT ||
	    (ad = nftnl_expr_get(a, NFTNL_EXPR_IMM_DATA, &alen)) == NULL)
		return 0;
	if (fw_render_is(rd, i + 1, "immediate")) {
		p = rd->e[i + 1];
		preg = nftnl_expr_get_u32(p, NFTNL_EXPR_IMM_DREG);
		if (preg == NFT_REG_VERDICT || preg == areg ||
		    (pd = nftnl_expr_get(p, NFTNL_EXPR_IMM_DATA, &plen)) ==
			NULL ||
		    plen != sizeof(port))
			return 0;
		k++;
	}
	if (!fw_render_is(rd, i + k, "nat"))
		return 0;
	nat = rd->e[i + k];
	type = nftnl_expr_get_u32(nat, NFTNL_EXPR_NAT_TYPE);
	fam = nftnl_expr_get_u32(nat, NFTNL_EXPR_NAT_FAMILY);
	flags = nftnl_expr_is_set(nat, NFTNL_EXPR_NAT_FLAGS) ?
	    nftnl_expr_get_u32(nat, NFTNL_EXPR_NAT_FLAGS) : 0;
	family = fam == NFPROTO_IPV4 ? AF_INET : AF_INET6;
	if ((type != NFT_NAT_DNAT && type != NFT_NAT_SNAT) ||
	    (fam != NFPROTO_IPV4 && fam != NFPROTO_IPV6) ||
	    alen != (family == AF_INET ? 4u : 16u) ||
	    (flags & ~(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)) !=
		0 ||
	    nftnl_expr_get_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MIN) != areg ||
	    (nftnl_expr_is_set(nat, NFTNL_EXPR_NAT_REG_ADDR_MAX) &&
		nftnl_expr_get_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MAX) != areg))
		return 0;
	if (p != NULL) {
		if (nftnl_expr_get_u32(nat, NFTNL_EXPR_NAT_REG_PROTO_MIN) !=
			preg ||
		    (nftnl_expr_is_set(nat, NFTNL_EXPR_NAT_REG_PROTO_MAX) &&
			nftnl_expr_get_u32(nat, NFTNL_EXPR_NAT_REG_PROTO_MAX) !=
			    preg))
			return 0;
	} else if (nftnl_expr_is_set(nat, NFTNL_EXPR_NAT_REG_PROTO_MIN) ||
	    nftnl_expr_is_set(nat, NFTNL_EXPR_NAT_REG_PROTO_MAX))
		return 0;
	if (inet_ntop(family, ad, addr, sizeof(addr)) == NULL)
		return 0;
	if (p != NULL) {
		memcpy(&port, pd, sizeof(port));
		fw_render_add(rd, xasprintf("%s %s to %s%s%s:%u",
		    type == NFT_NAT_DNAT ? "dnat" : "snat",
		    family == AF_INET ? "ip" : "ip6",
		    family == AF_INET6 ? "[" : "", addr,
		    family == AF_INET6 ? "]" : "", ntohs(port)), FW_DEP_NONE,
		    0);
	} else
		fw_render_add(rd, xasprintf("%s %s to %s",
		    type == NFT_NAT_DNAT ? "dnat" : "snat",
		    family == AF_INET ? "ip" : "ip6", addr), FW_DEP_NONE, 0);
	return k + 1;
}

/* masquerade, without flags or ports. */
static size_t
fw_render_masq(struct fw_render *rd, size_t i)
{
	const struct nftnl_expr *e = rd->e[i];

	if ((nftnl_expr_is_set(e, NFTNL_EXPR_MASQ_FLAGS) &&
		nftnl_expr_get_u32(e, NFTNL_EXPR_MASQ_FLAGS) != 0) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_MASQ_REG_PROTO_MAX))
		return 0;
	fw_render_add(rd, xstrdup("masquerade"), FW_DEP_NONE, 0);
	return 1;
}

/* The expressions' kinds known here, and what renders each. */
static const struct {
	const char *name;
	size_t (*render)(struct fw_render *, size_t);
} fw_renderers[] = {
	{ "meta", fw_render_meta },
	{ "payload", fw_render_payload },
	{ "ct", fw_render_ct },
	{ "counter", fw_render_counter },
	{ "immediate", fw_render_verdict },
	{ "immediate", fw_render_nat },
	{ "masq", fw_render_masq },
};

char *
net_fw_rule_nft(const struct nftnl_rule *r)
{
	struct fw_render rd = { 0 };
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	size_t i, j, used, len = 1;
	char *out, *p;

	if ((it = nftnl_expr_iter_create(r)) == NULL)
		fatalx("net-fw: cannot iterate a rule's expressions");
	while ((e = nftnl_expr_iter_next(it)) != NULL) {
		rd.e = xreallocarray(rd.e, rd.n + 1, sizeof(*rd.e));
		rd.e[rd.n++] = e;
	}
	nftnl_expr_iter_destroy(it);
	/* Each part takes one expression or more. */
	rd.part = xcalloc(rd.n + 1, sizeof(*rd.part));
	rd.dep = xcalloc(rd.n + 1, sizeof(*rd.dep));
	rd.val = xcalloc(rd.n + 1, sizeof(*rd.val));
	for (i = 0; i < rd.n; i += used) {
		used = 0;
		for (j = 0; j < sizeof(fw_renderers) / sizeof(fw_renderers[0]) &&
		     used == 0; j++)
			if (fw_render_is(&rd, i, fw_renderers[j].name))
				used = fw_renderers[j].render(&rd, i);
		if (used == 0) {
			fw_render_add(&rd, fw_expr_raw(rd.e[i]), FW_DEP_NONE,
			    0);
			used = 1;
		}
	}
	for (i = 0; i < rd.np; i++)
		len += strlen(rd.part[i]) + 1;
	p = out = xmalloc(len);
	*p = '\0';
	for (i = 0; i < rd.np; i++) {
		p += sprintf(p, "%s%s", i > 0 ? " " : "", rd.part[i]);
		free(rd.part[i]);
	}
	free(rd.part);
	free(rd.dep);
	free(rd.val);
	free(rd.e);
	return out;
}

/* Returns a rule's expressions as one line, as libnftnl prints them. */
static char *
fw_rule_exprs(const struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	char *out = xstrdup(""), *tmp, *raw;

	if ((it = nftnl_expr_iter_create(r)) == NULL)
		fatalx("net-fw: cannot iterate a rule's expressions");
	while ((e = nftnl_expr_iter_next(it)) != NULL) {
		raw = fw_expr_raw(e);
		tmp = xasprintf("%s%s%s", out, *out != '\0' ? " " : "", raw);
		free(raw);
		free(out);
		out = tmp;
	}
	nftnl_expr_iter_destroy(it);
	return out;
}

char *
net_fw_ctr_plan(const struct net_fw_ctr *ctr, char **cause)
{
	struct fw_tx tx = { 0 };
	char *out = xstrdup(""), *tmp, *exprs;
	size_t i;

	if (net_fw_ctr_check(ctr, cause) == -1) {
		free(out);
		return NULL;
	}
	fw_plan_ctr(&tx, ctr);
	for (i = 0; i < tx.n; i++) {
		struct fw_msg *m = &tx.msgs[i];

		if (m->rule != NULL) {
			exprs = fw_rule_exprs(m->rule);
			tmp = xasprintf("%s%s %s%s: %s\n", out,
			    fw_msg_verb(m->type), m->what,
			    (m->flags & NLM_F_APPEND) ? "" : " (at its head)",
			    exprs);
			free(exprs);
		} else
			tmp = xasprintf("%s%s %s\n", out, fw_msg_verb(m->type),
			    m->what);
		free(out);
		out = tmp;
	}
	fw_tx_clear(&tx);
	return out;
}

struct net_fw *
net_fw_open(int netns_fd, char **cause)
{
	struct net_fw *fw;
	struct mnl_socket *nl = NULL;
	int self = -1, one = 1, size = FW_RECV_SIZE * 16, saved;

	if (netns_enter(netns_fd, &self, cause) == -1)
		return NULL;
	/* The socket belongs to the namespace it was made in. */
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	saved = errno;
	netns_leave(self);
	if (nl == NULL) {
		xcause(cause, "firewall: cannot open a netfilter netlink "
			      "socket: %s", strerror(saved));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		xcause(cause, "firewall: cannot bind the netfilter netlink "
			      "socket: %s", strerror(errno));
		mnl_socket_close(nl);
		return NULL;
	}
	/* Short error answers; room for every answer of a batch. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size,
		sizeof(size)) == -1)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof(size));
	fw = xcalloc(1, sizeof(*fw));
	fw->nl = nl;
	fw->portid = mnl_socket_get_portid(nl);
	fw->seq = (uint32_t)time(NULL);
	return fw;
}

void
net_fw_close(struct net_fw *fw)
{
	if (fw == NULL)
		return;
	mnl_socket_close(fw->nl);
	free(fw);
}

/* Sends the transaction as one batch and reads every answer; -1 with a
 * cause "<context>: <what the first refused message was>: <errno text>"
 * when the kernel refused it (and then applied none of it). */
static int
fw_tx_commit(struct net_fw *fw, struct fw_tx *tx, const char *context,
    char **cause)
{
	struct nftnl_batch *b;
	struct iovec *iov = NULL;
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr mh = { 0 };
	struct nlmsghdr *nlh;
	struct pollfd pfd;
	char buf[FW_RECV_SIZE];
	uint32_t first, i, answered = 0;
	uint8_t *seen = NULL;
	int niov, fd, ret = -1, failed = 0, err = 0;
	size_t failidx = 0;
	ssize_t n;
	int left;

	if ((b = nftnl_batch_alloc(FW_BATCH_PAGE, FW_BATCH_PAGE)) == NULL)
		fatalx("net-fw: cannot allocate a batch");
	first = fw->seq;
	nftnl_batch_begin(nftnl_batch_buffer(b), fw->seq++);
	nftnl_batch_update(b);
	for (i = 0; i < tx->n; i++) {
		struct fw_msg *m = &tx->msgs[i];

		nlh = nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b), m->type,
		    NFPROTO_INET, m->flags | NLM_F_ACK, fw->seq++);
		if (m->table != NULL)
			nftnl_table_nlmsg_build_payload(nlh, m->table);
		else if (m->chain != NULL)
			nftnl_chain_nlmsg_build_payload(nlh, m->chain);
		else
			nftnl_rule_nlmsg_build_payload(nlh, m->rule);
		if (nftnl_batch_update(b) == -1)
			fatalx("net-fw: cannot grow a batch");
	}
	nftnl_batch_end(nftnl_batch_buffer(b), fw->seq++);
	nftnl_batch_update(b);

	niov = nftnl_batch_iovec_len(b);
	iov = xcalloc(niov, sizeof(*iov));
	nftnl_batch_iovec(b, iov, niov);
	mh.msg_name = &snl;
	mh.msg_namelen = sizeof(snl);
	mh.msg_iov = iov;
	mh.msg_iovlen = niov;
	fd = mnl_socket_get_fd(fw->nl);
	if (sendmsg(fd, &mh, 0) == -1) {
		xcause(cause, "%s: sending the transaction: %s", context,
		    strerror(errno));
		goto out;
	}

	/* The kernel answers each message (errors first, in message order)
	 * while handling the send; wait a little for any it has not. */
	seen = xcalloc(tx->n, 1);
	while (answered < tx->n && !failed) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pfd.fd = fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, FW_ANSWER_TIMEOUT_MS) == 1)
				continue;
			xcause(cause, "%s: the kernel answered %u of %zu "
				      "messages of the transaction",
			    context, answered, tx->n);
			goto out;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			xcause(cause, "%s: reading the kernel's answers: %s",
			    context, strerror(errno));
			goto out;
		}
		left = (int)n;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		    nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;
			uint32_t idx;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_seq == first) {
				/* The batch as a whole (e.g. no permission). */
				failed = 1;
				err = -e->error;
				failidx = SIZE_MAX;
				continue;
			}
			idx = nlh->nlmsg_seq - first - 1;
			if (idx >= tx->n || seen[idx])
				continue;
			seen[idx] = 1;
			answered++;
			if (e->error != 0 && (!failed || idx < failidx)) {
				failed = 1;
				err = -e->error;
				failidx = idx;
			}
		}
	}
	if (failed) {
		/* Drain the other answers of this batch. */
		while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		if (failidx == SIZE_MAX)
			xcause(cause, "%s: the transaction: %s", context,
			    strerror(err));
		else
			xcause(cause, "%s: cannot %s %s: %s", context,
			    fw_msg_verb(tx->msgs[failidx].type),
			    tx->msgs[failidx].what, strerror(err));
		goto out;
	}
	ret = 0;
out:
	free(seen);
	free(iov);
	nftnl_batch_free(b);
	return ret;
}

/* Checks the base ruleset's settings; -1 with a cause naming the bad one. */
static int
fw_check_base(const struct net_fw_base *base, char **cause)
{
	size_t i;

	if (fw_check_ifname(base->link_prefix, "the container links' prefix",
		cause) == -1)
		return -1;
	if (strlen(base->link_prefix) >= NET_FW_IFNAME_MAX) {
		xcause(cause, "the container links' prefix '%s' leaves no room "
			      "for a name", base->link_prefix);
		return -1;
	}
	if (base->nmasquerade > FW_LIST_MAX) {
		xcause(cause, "more than %d masquerading uplinks", FW_LIST_MAX);
		return -1;
	}
	for (i = 0; i < base->nmasquerade; i++) {
		if (fw_check_ifname(base->masquerade[i], "masquerading uplink",
			cause) == -1)
			return -1;
	}
	if (base->nguard > FW_LIST_MAX || base->nc0_ports > FW_LIST_MAX) {
		xcause(cause, "more than %d guarded uplinks or c0 ports",
		    FW_LIST_MAX);
		return -1;
	}
	for (i = 0; i < base->nguard; i++) {
		if (fw_check_ifname(base->guard[i], "guarded uplink",
			cause) == -1)
			return -1;
		if (strncmp(base->guard[i], base->link_prefix,
			strlen(base->link_prefix)) == 0) {
			xcause(cause, "guarded uplink '%s' is a container link",
			    base->guard[i]);
			return -1;
		}
	}
	for (i = 0; i < base->nc0_ports; i++) {
		if ((base->c0_ports[i].proto != IPPROTO_TCP &&
			base->c0_ports[i].proto != IPPROTO_UDP) ||
		    base->c0_ports[i].port == 0) {
			xcause(cause, "c0 port %zu: a TCP or UDP port is needed",
			    i);
			return -1;
		}
	}
	return 0;
}

/* c0's guard on one uplink: answers, neighbour discovery, its ports, and a
 * counted drop of the rest, appended to the input chain. */
static void
fw_plan_guard(struct fw_tx *tx, const struct net_fw_base *base,
    const char *uplink)
{
	struct nftnl_rule *r;
	char c[FW_WHAT_MAX], port[32];
	uint8_t type;
	size_t i;

	fw_comment(c, "cml: c0 on %s: answers", uplink);
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_INPUT, c);
	fw_ifname(r, NFT_META_IIFNAME, uplink, 0);
	fw_ct_any(r, NFT_CT_STATE,
	    NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
		NF_CT_STATE_BIT(IP_CT_RELATED));
	fw_verdict(r, NF_ACCEPT, NULL);
	/* router solicitation .. neighbour advertisement */
	for (type = 133; type <= 136; type++) {
		fw_comment(c, "cml: c0 on %s: ICMPv6 type %u", uplink, type);
		r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_INPUT, c);
		fw_ifname(r, NFT_META_IIFNAME, uplink, 0);
		fw_icmpv6_type(r, type);
		fw_verdict(r, NF_ACCEPT, NULL);
	}
	for (i = 0; i < base->nc0_ports; i++) {
		fw_port_format(&base->c0_ports[i], port, sizeof(port));
		fw_comment(c, "cml: c0 on %s: %s", uplink, port);
		r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_INPUT, c);
		fw_ifname(r, NFT_META_IIFNAME, uplink, 0);
		fw_dport(r, &base->c0_ports[i], base->c0_ports[i].port);
		fw_verdict(r, NF_ACCEPT, NULL);
	}
	fw_comment(c, "cml: c0 on %s: nothing else", uplink);
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_INPUT, c);
	fw_ifname(r, NFT_META_IIFNAME, uplink, 0);
	fw_verdict(r, NF_DROP, NULL);
}

/* Builds the messages that make table inet cml anew with the base ruleset
 * into tx; the settings are checked. */
static void
fw_plan_base(struct fw_tx *tx, const struct net_fw_base *base)
{
	struct nftnl_rule *r;
	char c[FW_WHAT_MAX];
	size_t i;

	/* Made, deleted and made anew: the delete does not fail on a first
	 * install, and the old table stays whole if anything fails. */
	fw_tx_table(tx, NFT_MSG_NEWTABLE, NLM_F_CREATE,
	    "table inet " NET_FW_TABLE);
	fw_tx_table(tx, NFT_MSG_DELTABLE, 0, "table inet " NET_FW_TABLE);
	fw_tx_table(tx, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL,
	    "table inet " NET_FW_TABLE);
	fw_tx_chain(tx, NFT_MSG_NEWCHAIN, NLM_F_CREATE, FW_FORWARD, "filter",
	    NF_INET_FORWARD, 0, NF_DROP);
	fw_tx_chain(tx, NFT_MSG_NEWCHAIN, NLM_F_CREATE, FW_INPUT, "filter",
	    NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	fw_tx_chain(tx, NFT_MSG_NEWCHAIN, NLM_F_CREATE, FW_OUTPUT, "filter",
	    NF_INET_LOCAL_OUT, 0, NF_ACCEPT);
	fw_tx_chain(tx, NFT_MSG_NEWCHAIN, NLM_F_CREATE, FW_PREROUTING, "nat",
	    NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	fw_tx_chain(tx, NFT_MSG_NEWCHAIN, NLM_F_CREATE, FW_POSTROUTING, "nat",
	    NF_INET_POST_ROUTING, 100, NF_ACCEPT);

	fw_comment(c, "cml: no container link reaches another");
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_FORWARD, c);
	fw_ifname(r, NFT_META_IIFNAME, base->link_prefix, 1);
	fw_ifname(r, NFT_META_OIFNAME, base->link_prefix, 1);
	fw_verdict(r, NF_DROP, NULL);
	fw_comment(c, "cml: nothing else from a container link");
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_INPUT, c);
	fw_ifname(r, NFT_META_IIFNAME, base->link_prefix, 1);
	fw_verdict(r, NF_DROP, NULL);
	fw_comment(c, "cml: nothing else to a container link");
	r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND, FW_OUTPUT, c);
	fw_ifname(r, NFT_META_OIFNAME, base->link_prefix, 1);
	fw_verdict(r, NF_DROP, NULL);
	for (i = 0; i < base->nguard; i++)
		fw_plan_guard(tx, base, base->guard[i]);
	for (i = 0; i < base->nmasquerade; i++) {
		fw_comment(c, "cml: masquerade through %s",
		    base->masquerade[i]);
		r = fw_tx_rule(tx, NLM_F_CREATE | NLM_F_APPEND,
		    FW_POSTROUTING, c);
		fw_ifname(r, NFT_META_OIFNAME, base->masquerade[i], 0);
		nftnl_rule_add_expr(r, fw_expr("masq"));
	}
}

int
net_fw_base_install(struct net_fw *fw, const struct net_fw_base *base,
    char **cause)
{
	struct fw_tx tx = { 0 };
	int ret;

	if (fw_check_base(base, cause) == -1)
		return -1;
	fw_plan_base(&tx, base);
	ret = fw_tx_commit(fw, &tx, "firewall base ruleset", cause);
	fw_tx_clear(&tx);
	return ret;
}

char *
net_fw_plan_nft(const struct net_fw_base *base, const struct net_fw_ctr *ctr,
    char **cause)
{
	struct fw_tx tx = { 0 };
	struct nlmsghdr *nlh;
	struct nftnl_rule *back;
	char *buf, *out = xstrdup(""), *tmp, *exprs;
	size_t i;

	if ((base != NULL && fw_check_base(base, cause) == -1) ||
	    (ctr != NULL && net_fw_ctr_check(ctr, cause) == -1)) {
		free(out);
		return NULL;
	}
	if (base != NULL)
		fw_plan_base(&tx, base);
	if (ctr != NULL)
		fw_plan_ctr(&tx, ctr);
	buf = xmalloc(FW_BATCH_PAGE);
	for (i = 0; i < tx.n; i++) {
		if (tx.msgs[i].rule == NULL || tx.msgs[i].type != NFT_MSG_NEWRULE)
			continue;
		/* Rendered as read back: through a netlink message. */
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
		    0, 0);
		nftnl_rule_nlmsg_build_payload(nlh, tx.msgs[i].rule);
		if ((back = nftnl_rule_alloc()) == NULL)
			fatalx("net-fw: cannot allocate a rule");
		if (nftnl_rule_nlmsg_parse(nlh, back) < 0)
			fatalx("net-fw: cannot parse a rule of its own");
		exprs = net_fw_rule_nft(back);
		tmp = xasprintf("%s%s: %s\n", out,
		    nftnl_rule_get_str(back, NFTNL_RULE_CHAIN), exprs);
		free(exprs);
		free(out);
		out = tmp;
		nftnl_rule_free(back);
	}
	free(buf);
	fw_tx_clear(&tx);
	return out;
}

int
net_fw_ctr_add(struct net_fw *fw, const struct net_fw_ctr *ctr, char **cause)
{
	struct fw_tx tx = { 0 };
	char *context;
	int ret;

	if (net_fw_ctr_check(ctr, cause) == -1)
		return -1;
	fw_plan_ctr(&tx, ctr);
	context = xasprintf("firewall of container '%s'", ctr->id);
	ret = fw_tx_commit(fw, &tx, context, cause);
	free(context);
	fw_tx_clear(&tx);
	return ret;
}

/* What a dump collects: chains or rules of table inet cml. */
struct fw_dump {
	struct nftnl_chain_list *chains;
	struct nftnl_rule_list *rules;
};

/* Keeps one chain or rule of a dump, if it is of table inet cml. */
static int
fw_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fw_dump *d = data;
	struct nftnl_chain *c;
	struct nftnl_rule *r;

	if (d->chains != NULL) {
		if ((c = nftnl_chain_alloc()) == NULL)
			fatalx("net-fw: cannot allocate a chain");
		if (nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
		    nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) != NFPROTO_INET ||
		    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE),
			NET_FW_TABLE) != 0) {
			nftnl_chain_free(c);
			return MNL_CB_OK;
		}
		nftnl_chain_list_add_tail(c, d->chains);
	} else {
		if ((r = nftnl_rule_alloc()) == NULL)
			fatalx("net-fw: cannot allocate a rule");
		if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
		    nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY) != NFPROTO_INET ||
		    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
			NET_FW_TABLE) != 0) {
			nftnl_rule_free(r);
			return MNL_CB_OK;
		}
		nftnl_rule_list_add_tail(r, d->rules);
	}
	return MNL_CB_OK;
}

/* Dumps the chains (into d->chains) or the rules (d->rules) of table inet
 * cml; a missing table is no error, its lists stay empty. */
static int
fw_dump(struct net_fw *fw, struct fw_dump *d, char **cause)
{
	char buf[FW_RECV_SIZE];
	struct nlmsghdr *nlh;
	struct nftnl_rule *r;
	struct nftnl_chain *c;
	uint32_t seq;
	ssize_t n;
	int ret, tries;

	for (tries = 0; tries < FW_DUMP_TRIES; tries++) {
		seq = fw->seq++;
		if (d->chains != NULL) {
			nftnl_chain_list_free(d->chains);
			if ((d->chains = nftnl_chain_list_alloc()) == NULL)
				fatalx("net-fw: cannot allocate a list");
			nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN,
			    NFPROTO_INET, NLM_F_DUMP, seq);
			if ((c = nftnl_chain_alloc()) == NULL)
				fatalx("net-fw: cannot allocate a chain");
			nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NET_FW_TABLE);
			nftnl_chain_nlmsg_build_payload(nlh, c);
			nftnl_chain_free(c);
		} else {
			nftnl_rule_list_free(d->rules);
			if ((d->rules = nftnl_rule_list_alloc()) == NULL)
				fatalx("net-fw: cannot allocate a list");
			nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE,
			    NFPROTO_INET, NLM_F_DUMP, seq);
			if ((r = nftnl_rule_alloc()) == NULL)
				fatalx("net-fw: cannot allocate a rule");
			nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NET_FW_TABLE);
			nftnl_rule_nlmsg_build_payload(nlh, r);
			nftnl_rule_free(r);
		}
		if (mnl_socket_sendto(fw->nl, nlh, nlh->nlmsg_len) == -1) {
			xcause(cause, "firewall: asking for table inet %s: %s",
			    NET_FW_TABLE, strerror(errno));
			return -1;
		}
		ret = MNL_CB_OK;
		while (ret > MNL_CB_STOP) {
			n = mnl_socket_recvfrom(fw->nl, buf, sizeof(buf));
			if (n == -1)
				break;
			ret = mnl_cb_run(buf, n, seq, fw->portid, fw_dump_cb,
			    d);
			if (ret == -1)
				break;
		}
		if (ret != -1)
			return 0;
		if (errno == ENOENT)
			return 0;
		if (errno != EINTR)
			break;
	}
	xcause(cause, "firewall: reading table inet %s: %s", NET_FW_TABLE,
	    strerror(errno));
	return -1;
}

/* Frees what a dump collected. */
static void
fw_dump_free(struct fw_dump *d)
{
	if (d->chains != NULL)
		nftnl_chain_list_free(d->chains);
	if (d->rules != NULL)
		nftnl_rule_list_free(d->rules);
}

/* Returns a rule's comment, or NULL. */
static const char *
fw_rule_comment(const struct nftnl_rule *r)
{
	const struct nftnl_udata *tb[NFTNL_UDATA_RULE_MAX + 1] = { 0 };
	const struct nftnl_udata *a;
	const void *ud;
	uint32_t len;

	if ((ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len)) == NULL)
		return NULL;
	nftnl_udata_for_each_data(ud, len, a)
	{
		if (nftnl_udata_type(a) <= NFTNL_UDATA_RULE_MAX)
			tb[nftnl_udata_type(a)] = a;
	}
	a = tb[NFTNL_UDATA_RULE_COMMENT];
	if (a == NULL || nftnl_udata_len(a) == 0 ||
	    ((const char *)nftnl_udata_get(a))[nftnl_udata_len(a) - 1] != '\0')
		return NULL;
	return nftnl_udata_get(a);
}

int
net_fw_ctr_remove(struct net_fw *fw, const char *id, char **cause)
{
	struct fw_dump chains = { 0 }, rules = { 0 };
	struct nftnl_rule_list_iter *it;
	struct nftnl_rule *r, *del;
	struct fw_tx tx = { 0 };
	struct net_fw_ctr check = { .id = id, .link = "lo" };
	char chain[sizeof(NET_FW_CHAIN_PREFIX) + NET_FW_ID_MAX], tag[128];
	const char *comment, *rchain;
	char *context = NULL;
	int ret = -1, have;

	if (net_fw_ctr_check(&check, cause) == -1)
		return -1;
	snprintf(chain, sizeof(chain), NET_FW_CHAIN_PREFIX "%s", id);
	snprintf(tag, sizeof(tag), "%s: ", chain);
	chains.chains = nftnl_chain_list_alloc();
	rules.rules = nftnl_rule_list_alloc();
	if (chains.chains == NULL || rules.rules == NULL)
		fatalx("net-fw: cannot allocate a list");
	if (fw_dump(fw, &chains, cause) == -1 ||
	    fw_dump(fw, &rules, cause) == -1)
		goto out;
	have = nftnl_chain_list_lookup_byname(chains.chains, chain) != NULL;

	/* Its rules in the base chains, by their handles. */
	if ((it = nftnl_rule_list_iter_create(rules.rules)) == NULL)
		fatalx("net-fw: cannot iterate rules");
	while ((r = nftnl_rule_list_iter_next(it)) != NULL) {
		rchain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
		comment = fw_rule_comment(r);
		if (strcmp(rchain, chain) == 0 || comment == NULL ||
		    strncmp(comment, tag, strlen(tag)) != 0)
			continue;
		fw_tx_add(&tx, NFT_MSG_DELRULE, 0, "rule \"%s\" in chain %s",
		    comment, rchain);
		if ((del = nftnl_rule_alloc()) == NULL)
			fatalx("net-fw: cannot allocate a rule");
		nftnl_rule_set_u32(del, NFTNL_RULE_FAMILY, NFPROTO_INET);
		nftnl_rule_set_str(del, NFTNL_RULE_TABLE, NET_FW_TABLE);
		nftnl_rule_set_str(del, NFTNL_RULE_CHAIN, rchain);
		nftnl_rule_set_u64(del, NFTNL_RULE_HANDLE,
		    nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
		tx.msgs[tx.n - 1].rule = del;
	}
	nftnl_rule_list_iter_destroy(it);
	if (have) {
		/* A rule message without a handle flushes the chain. */
		fw_tx_add(&tx, NFT_MSG_DELRULE, 0, "rules of chain %s", chain);
		if ((del = nftnl_rule_alloc()) == NULL)
			fatalx("net-fw: cannot allocate a rule");
		nftnl_rule_set_u32(del, NFTNL_RULE_FAMILY, NFPROTO_INET);
		nftnl_rule_set_str(del, NFTNL_RULE_TABLE, NET_FW_TABLE);
		nftnl_rule_set_str(del, NFTNL_RULE_CHAIN, chain);
		tx.msgs[tx.n - 1].rule = del;
		fw_tx_chain(&tx, NFT_MSG_DELCHAIN, 0, chain, NULL, 0, 0, 0);
	}
	if (tx.n == 0) {
		ret = 0;
		goto out;
	}
	context = xasprintf("removing the firewall of container '%s'", id);
	ret = fw_tx_commit(fw, &tx, context, cause);
out:
	free(context);
	fw_tx_clear(&tx);
	fw_dump_free(&rules);
	fw_dump_free(&chains);
	return ret;
}

int
net_fw_ctr_ids(struct net_fw *fw, char ***ids, size_t *n, char **cause)
{
	struct fw_dump d = { 0 };
	struct nftnl_chain_list_iter *it;
	struct nftnl_chain *c;
	const char *name;
	size_t plen = strlen(NET_FW_CHAIN_PREFIX);

	*ids = NULL;
	*n = 0;
	if ((d.chains = nftnl_chain_list_alloc()) == NULL)
		fatalx("net-fw: cannot allocate a list");
	if (fw_dump(fw, &d, cause) == -1) {
		fw_dump_free(&d);
		return -1;
	}
	if ((it = nftnl_chain_list_iter_create(d.chains)) == NULL)
		fatalx("net-fw: cannot iterate chains");
	while ((c = nftnl_chain_list_iter_next(it)) != NULL) {
		name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		if (strncmp(name, NET_FW_CHAIN_PREFIX, plen) != 0 ||
		    nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
			continue;
		*ids = xreallocarray(*ids, *n + 1, sizeof(**ids));
		(*ids)[(*n)++] = xstrdup(name + plen);
	}
	nftnl_chain_list_iter_destroy(it);
	fw_dump_free(&d);
	return 0;
}

/* Returns the name of an inet hook. */
static const char *
fw_hook_name(uint32_t hook)
{
	static const char *const names[] = { "prerouting", "input", "forward",
		"output", "postrouting" };

	return hook < sizeof(names) / sizeof(names[0]) ? names[hook] : "?";
}

struct json_object *
net_fw_list(struct net_fw *fw, char **cause)
{
	struct fw_dump chains = { 0 }, rules = { 0 };
	struct nftnl_chain_list_iter *cit;
	struct nftnl_rule_list_iter *rit;
	struct nftnl_chain *c;
	struct nftnl_rule *r;
	struct json_object *top = NULL, *jchains, *jc, *jrules, *jr;
	const char *name, *comment;
	char *exprs;

	chains.chains = nftnl_chain_list_alloc();
	rules.rules = nftnl_rule_list_alloc();
	if (chains.chains == NULL || rules.rules == NULL)
		fatalx("net-fw: cannot allocate a list");
	if (fw_dump(fw, &chains, cause) == -1 ||
	    fw_dump(fw, &rules, cause) == -1)
		goto out;
	top = json_object_new_object();
	json_object_object_add(top, "table",
	    json_object_new_string("inet " NET_FW_TABLE));
	jchains = json_object_new_array();
	json_object_object_add(top, "chains", jchains);
	if ((cit = nftnl_chain_list_iter_create(chains.chains)) == NULL)
		fatalx("net-fw: cannot iterate chains");
	while ((c = nftnl_chain_list_iter_next(cit)) != NULL) {
		name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
		jc = json_object_new_object();
		json_object_object_add(jc, "name", json_object_new_string(name));
		if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
			json_object_object_add(jc, "hook",
			    json_object_new_string(fw_hook_name(
				nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM))));
			json_object_object_add(jc, "priority",
			    json_object_new_int(
				nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO)));
			json_object_object_add(jc, "policy",
			    json_object_new_string(
				nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) ==
					NF_DROP ?
				    "drop" :
				    "accept"));
		}
		jrules = json_object_new_array();
		json_object_object_add(jc, "rules", jrules);
		if ((rit = nftnl_rule_list_iter_create(rules.rules)) == NULL)
			fatalx("net-fw: cannot iterate rules");
		while ((r = nftnl_rule_list_iter_next(rit)) != NULL) {
			if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN),
				name) != 0)
				continue;
			jr = json_object_new_object();
			json_object_object_add(jr, "handle",
			    json_object_new_int64((int64_t)nftnl_rule_get_u64(r,
				NFTNL_RULE_HANDLE)));
			comment = fw_rule_comment(r);
			json_object_object_add(jr, "comment",
			    comment != NULL ? json_object_new_string(comment) :
					      NULL);
			exprs = net_fw_rule_nft(r);
			json_object_object_add(jr, "expr",
			    json_object_new_string(exprs));
			free(exprs);
			exprs = fw_rule_exprs(r);
			json_object_object_add(jr, "raw",
			    json_object_new_string(exprs));
			free(exprs);
			json_object_array_add(jrules, jr);
		}
		nftnl_rule_list_iter_destroy(rit);
		json_object_array_add(jchains, jc);
	}
	nftnl_chain_list_iter_destroy(cit);
out:
	fw_dump_free(&rules);
	fw_dump_free(&chains);
	return top;
}
