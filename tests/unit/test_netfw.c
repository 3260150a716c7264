/*
 * Unit tests of the container links' firewall (daemon/cmld/net-fw.c)
 * without the kernel: the address prefixes it parses, the allowances it
 * refuses before anything is sent (with a cause naming the allowance), and
 * the messages it plans for one transaction (the rules, their chains, their
 * order), and how a rule read back is shown: in nft's words, what cannot be
 * said so in libnftnl's.  tests/integration/net-fw.sh applies them to a
 * kernel, sends traffic through them, and compares what is shown with
 * nft's own listing.  What each test proves is tagged on the test.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "net-fw.h"

/* Parses s, which must be a good prefix, and returns it. */
static struct net_fw_prefix
prefix(const char *s)
{
	struct net_fw_prefix p;
	char *cause = NULL;

	if (net_fw_prefix_parse(s, &p, &cause) != 0)
		fail_msg("%s: %s", s, cause);
	return p;
}

/* Asserts that s is refused as a prefix with exactly the cause. */
static void
prefix_refused(const char *s, const char *want)
{
	struct net_fw_prefix p;
	char *cause = NULL;

	assert_int_equal(net_fw_prefix_parse(s, &p, &cause), -1);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

/* Asserts that ctr is refused before anything is sent, with the cause. */
static void
ctr_refused(const struct net_fw_ctr *ctr, const char *want)
{
	char *cause = NULL, *plan;

	assert_int_equal(net_fw_ctr_check(ctr, &cause), -1);
	assert_string_equal(cause, want);
	free(cause);
	cause = NULL;
	plan = net_fw_ctr_plan(ctr, &cause);
	assert_null(plan);
	assert_string_equal(cause, want);
	free(cause);
}

/* Returns the number of lines of s. */
static size_t
lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Returns line i (from 0) of s, in a static buffer. */
static const char *
line(const char *s, size_t i)
{
	static char buf[4096];
	const char *end;

	while (i-- > 0 && (s = strchr(s, '\n')) != NULL)
		s++;
	assert_non_null(s);
	end = strchr(s, '\n');
	assert_non_null(end);
	assert_true((size_t)(end - s) < sizeof(buf));
	memcpy(buf, s, end - s);
	buf[end - s] = '\0';
	return buf;
}

/*
 * Prefixes: IPv4 and IPv6, with and without a length; a length past the
 * family's, bits set past the length, and what is no address are refused.
 * Proves: CR 5.1 (a malformed address never becomes a rule)
 */
static void
test_netfw_prefix_parse_checks_length_and_bits(void **state)
{
	struct net_fw_prefix p;
	char buf[NET_FW_PREFIX_STRLEN];

	p = prefix("10.200.0.0/16");
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 16);
	net_fw_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "10.200.0.0/16");
	p = prefix("192.0.2.7");
	assert_int_equal(p.len, 32);
	p = prefix("fd00:c:1::/48");
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 48);
	net_fw_prefix_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:c:1::/48");
	p = prefix("::/0");
	assert_int_equal(p.len, 0);

	prefix_refused("10.0.0.0/33",
	    "'10.0.0.0/33': the prefix length must be 0 to 32");
	prefix_refused("fd00::/129",
	    "'fd00::/129': the prefix length must be 0 to 128");
	prefix_refused("10.0.0.1/8", "'10.0.0.1/8' has address bits set past /8");
	prefix_refused("10.0.0.0/", "'10.0.0.0/': the prefix length must be 0 to 32");
	prefix_refused("10.0.0.0/-1",
	    "'10.0.0.0/-1': the prefix length must be 0 to 32");
	prefix_refused("/8", "'/8' is no IPv4 or IPv6 address");
	prefix_refused("10.0.0", "'10.0.0' is no IPv4 or IPv6 address");
	prefix_refused("eth0", "'eth0' is no IPv4 or IPv6 address");
}

/*
 * Every kind of bad allowance is refused before a message is built, and
 * the cause names the container and the allowance; a prefix that skipped
 * net_fw_prefix_parse (a caller's bug) is caught as well.
 * Proves: CR 5.1, NDR 5.2 (nothing but well-formed allowances)
 */
static void
test_netfw_ctr_check_bad_allowance_refused(void **state)
{
	struct net_fw_egress eg = { .uplink = "up0",
		.port = { IPPROTO_TCP, 443 } };
	struct net_fw_forward fwd = { .uplink = "up0",
		.port = { IPPROTO_TCP, 8080 }, .to_port = 80 };
	struct net_fw_port mgmt = { IPPROTO_TCP, 22 };
	struct net_fw_ctr ctr = { .id = "web", .link = "vc-web",
		.egress = &eg, .negress = 1, .forward = &fwd, .nforward = 1,
		.mgmt = &mgmt, .nmgmt = 1 };
	char *cause = NULL;

	eg.dst = prefix("192.0.2.0/24");
	fwd.to_addr = prefix("10.200.0.2");
	assert_int_equal(net_fw_ctr_check(&ctr, &cause), 0);
	assert_null(cause);

	ctr.id = "Web:1";
	ctr_refused(&ctr, "'Web:1' is no container name for a firewall chain");
	ctr.id = "web";
	ctr.link = "vc-a-very-long-name";
	ctr_refused(&ctr, "container 'web': its link: interface name "
			  "'vc-a-very-long-name' is longer than 15");
	ctr.link = "vc*";
	ctr_refused(&ctr, "container 'web': its link: 'vc*' is no interface "
			  "name");
	ctr.link = "vc-web";

	eg.dst.len = 33; /* past net_fw_prefix_parse */
	ctr_refused(&ctr, "container 'web': egress 1: prefix length 33, must "
			  "be 0 to 32");
	eg.dst = prefix("192.0.2.0/24");
	eg.dst.len = 16; /* bits set past the length */
	ctr_refused(&ctr, "container 'web': egress 1: address bits set past "
			  "/16");
	eg.dst.len = 24;
	eg.uplink = NULL;
	ctr_refused(&ctr, "container 'web': egress 1: no interface name");
	eg.uplink = "vc-web";
	ctr_refused(&ctr, "container 'web': egress 1: the uplink is the "
			  "container's link");
	eg.uplink = "up0";
	eg.port.proto = 0;
	ctr_refused(&ctr, "container 'web': egress 1: a port needs tcp or udp");
	eg.port.proto = IPPROTO_ICMP;
	ctr_refused(&ctr, "container 'web': egress 1: protocol 1 is neither "
			  "tcp nor udp");
	eg.port.proto = IPPROTO_TCP;

	fwd.port.port = 0;
	ctr_refused(&ctr, "container 'web': port forward 1: no port");
	fwd.port.port = 8080;
	fwd.to_addr = prefix("10.200.0.0/30");
	ctr_refused(&ctr, "container 'web': port forward 1: prefix length 30, "
			  "must be 32");
	fwd.to_addr = prefix("10.200.0.2");

	mgmt.proto = 0;
	mgmt.port = 0;
	ctr_refused(&ctr, "container 'web': management port 1: a port needs "
			  "tcp or udp");
	mgmt.proto = IPPROTO_TCP;
	mgmt.port = 22;
	ctr.negress = 65;
	ctr_refused(&ctr, "container 'web': more than 64 allowances of a kind");
}

/*
 * A container without allowances: its chain accepts only the replies of
 * allowed connections and neighbour discovery and drops the rest; the
 * base chains send its link's traffic there, in input and output ahead of
 * the final drop for container links (inserted at the head).
 * Proves: TSF.ISOL, CR 5.1 (default deny for a container link)
 */
static void
test_netfw_plan_island_default_deny(void **state)
{
	struct net_fw_ctr ctr = { .id = "web", .link = "vc-web" };
	char *cause = NULL, *plan;

	plan = net_fw_ctr_plan(&ctr, &cause);
	assert_non_null(plan);
	assert_int_equal(lines(plan), 9);
	assert_string_equal(line(plan, 0), "add chain ctr-web");
	assert_non_null(strstr(line(plan, 1),
	    "\"ctr-web: established, related\" in chain ctr-web: "
	    "[ ct load state => reg 1 ]"));
	assert_non_null(strstr(line(plan, 2), "neighbour solicitation"));
	assert_non_null(strstr(line(plan, 3), "neighbour advertisement"));
	assert_string_equal(line(plan, 4),
	    "add rule \"ctr-web: everything else\" in chain ctr-web: "
	    "[ counter pkts 0 bytes 0 ] [ immediate reg 0 drop ]");
	assert_non_null(strstr(line(plan, 5),
	    "\"ctr-web: from vc-web\" in chain forward: [ meta load iifname"));
	assert_non_null(strstr(line(plan, 5), "jump -> ctr-web ]"));
	assert_non_null(strstr(line(plan, 6),
	    "\"ctr-web: to vc-web\" in chain forward: [ meta load oifname"));
	assert_non_null(strstr(line(plan, 7),
	    "\"ctr-web: from vc-web to c0\" in chain input (at its head):"));
	assert_non_null(strstr(line(plan, 8),
	    "\"ctr-web: from c0 to vc-web\" in chain output (at its head):"));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* "vc-web" padded to IFNAMSIZ: an exact name, not a prefix. */
	assert_string_equal(line(plan, 5),
	    "add rule \"ctr-web: from vc-web\" in chain forward: "
	    "[ meta load iifname => reg 1 ] [ cmp eq reg 1 0x772d6376 "
	    "0x00006265 0x00000000 0x00000000 ] "
	    "[ immediate reg 0 jump -> ctr-web ]");
#endif
	free(plan);
}

/*
 * Allowances become rules in the container's chain, ahead of its final
 * drop: an egress matches the link, the uplink, the family, the masked
 * destination and the port; a port forward is a DNAT in prerouting plus an
 * accept in the chain only for what was translated; a management port is
 * an accept in output ahead of the jump.
 * Proves: NDR 5.2 (only the configured flows), TSF.ISOL (c0 alone reaches
 * the management port)
 */
static void
test_netfw_plan_allowances_in_order(void **state)
{
	struct net_fw_egress eg[2] = {
		{ .uplink = "up0", .port = { IPPROTO_TCP, 8000 } },
		{ .uplink = "up0", .port = { IPPROTO_UDP, 0 } },
	};
	struct net_fw_forward fwd = { .uplink = "up0",
		.port = { IPPROTO_TCP, 8080 }, .to_port = 80 };
	struct net_fw_port mgmt = { IPPROTO_TCP, 22 };
	struct net_fw_ctr ctr = { .id = "web", .link = "vc-web", .egress = eg,
		.negress = 2, .forward = &fwd, .nforward = 1, .mgmt = &mgmt,
		.nmgmt = 1 };
	char *cause = NULL, *plan;
	const char *l;

	eg[0].dst = prefix("10.9.0.0/20");
	eg[1].dst = prefix("fd00::/8");
	fwd.to_addr = prefix("10.200.0.2");
	plan = net_fw_ctr_plan(&ctr, &cause);
	assert_non_null(plan);
	assert_int_equal(lines(plan), 14);

	l = line(plan, 4);
	assert_non_null(strstr(l, "\"ctr-web: egress 10.9.0.0/20 tcp/8000 "
				  "via up0\" in chain ctr-web: [ meta load "
				  "iifname"));
	assert_non_null(strstr(l, "[ meta load oifname => reg 1 ]"));
	assert_non_null(strstr(l, "[ payload load 4b @ network header + 16"));
	assert_non_null(strstr(l, "[ bitwise reg 1 = ( reg 1 & "));
	assert_non_null(strstr(l, "[ meta load l4proto => reg 1 ] "
				  "[ cmp eq reg 1 0x00000006 ]"));
	assert_non_null(strstr(l, "@ transport header + 2 => reg 1 ]"));
	assert_non_null(strstr(l, "[ immediate reg 0 accept ]"));

	l = line(plan, 5);
	assert_non_null(strstr(l, "\"ctr-web: egress fd00::/8 udp via up0\""));
	assert_non_null(strstr(l, "[ cmp eq reg 1 0x0000000a ]")); /* ipv6 */
	assert_non_null(strstr(l, "@ network header + 24 => reg 1 ]"));
	assert_null(strstr(l, "transport header")); /* any udp port */

	l = line(plan, 6);
	assert_non_null(strstr(l, "\"ctr-web: forward up0 tcp/8080 to "
				  "10.200.0.2 port 80\" in chain ctr-web:"));
	assert_non_null(strstr(l, "[ ct load status => reg 1 ]"));
	l = line(plan, 7);
	assert_non_null(strstr(l, "\"ctr-web: forward up0 tcp/8080 to "
				  "10.200.0.2 port 80\" in chain prerouting:"));
	assert_non_null(strstr(l, "[ nat dnat ip addr_min reg 1 addr_max reg 1 "
				  "proto_min reg 2 proto_max reg 2 flags 0x3 ]"));
	assert_non_null(strstr(line(plan, 8), "\"ctr-web: everything else\""));
	assert_non_null(strstr(line(plan, 13),
	    "\"ctr-web: management tcp/22 from c0\" in chain output (at its "
	    "head):"));
	assert_non_null(strstr(line(plan, 13), "[ immediate reg 0 accept ]"));
	free(plan);
}

/*
 * Every rule the base ruleset and a container's allowances make, read
 * back through a netlink message, is shown exactly as `nft list table inet
 * cml` lists it (the texts are nft 1.0.6's): interface names exact and by
 * prefix, the family and transport protocol left out where the address,
 * port or ICMPv6 type implies them and kept where nothing does, address
 * prefixes, conntrack state and status, counters, verdicts and jumps,
 * DNAT to IPv4 and IPv6 with a port, masquerade.
 * Proves: CR 5.1, NDR 5.2 (the rules in force are shown as what they are)
 */
static void
test_netfw_plan_nft_every_kind_as_nft_lists_it(void **state)
{
	static const char *const masq[] = { "up0" };
	struct net_fw_base base = { .link_prefix = "vc", .masquerade = masq,
		.nmasquerade = 1 };
	struct net_fw_egress eg[4] = {
		{ .uplink = "up0", .port = { IPPROTO_TCP, 8000 } },
		{ .uplink = "up0", .port = { IPPROTO_UDP, 0 } },
		{ .uplink = "up0", .port = { 0, 0 } },
		{ .uplink = "up1", .port = { IPPROTO_TCP, 0 } },
	};
	struct net_fw_forward fwd[2] = {
		{ .uplink = "up0", .port = { IPPROTO_TCP, 8080 }, .to_port = 80 },
		{ .uplink = "up0", .port = { IPPROTO_UDP, 53 }, .to_port = 5353 },
	};
	struct net_fw_port mgmt[2] = { { IPPROTO_TCP, 22 }, { IPPROTO_UDP, 161 } };
	struct net_fw_ctr ctr = { .id = "web", .link = "vc-web", .egress = eg,
		.negress = 4, .forward = fwd, .nforward = 2, .mgmt = mgmt,
		.nmgmt = 2 };
	char *cause = NULL, *plan;

	eg[0].dst = prefix("192.0.2.2");
	eg[1].dst = prefix("fd00::/8");
	eg[2].dst = prefix("10.9.0.0/20");
	eg[3].dst = prefix("0.0.0.0/0");
	fwd[0].to_addr = prefix("10.200.0.2");
	fwd[1].to_addr = prefix("fd00:c41::2");
	plan = net_fw_plan_nft(&base, &ctr, &cause);
	assert_non_null(plan);
	assert_string_equal(plan,
	    "forward: iifname \"vc*\" oifname \"vc*\" counter packets 0 bytes 0 "
	    "drop\n"
	    "input: iifname \"vc*\" counter packets 0 bytes 0 drop\n"
	    "output: oifname \"vc*\" counter packets 0 bytes 0 drop\n"
	    "postrouting: oifname \"up0\" masquerade\n"
	    "ctr-web: ct state established,related accept\n"
	    "ctr-web: icmpv6 type nd-neighbor-solicit accept\n"
	    "ctr-web: icmpv6 type nd-neighbor-advert accept\n"
	    "ctr-web: iifname \"vc-web\" oifname \"up0\" ip daddr 192.0.2.2 "
	    "tcp dport 8000 accept\n"
	    "ctr-web: iifname \"vc-web\" oifname \"up0\" ip6 daddr fd00::/8 "
	    "meta l4proto udp accept\n"
	    "ctr-web: iifname \"vc-web\" oifname \"up0\" ip daddr 10.9.0.0/20 "
	    "accept\n"
	    "ctr-web: iifname \"vc-web\" oifname \"up1\" meta nfproto ipv4 "
	    "meta l4proto tcp accept\n"
	    "ctr-web: iifname \"up0\" oifname \"vc-web\" ip daddr 10.200.0.2 "
	    "tcp dport 80 ct status dnat accept\n"
	    "prerouting: iifname \"up0\" meta nfproto ipv4 tcp dport 8080 "
	    "dnat ip to 10.200.0.2:80\n"
	    "ctr-web: iifname \"up0\" oifname \"vc-web\" ip6 daddr fd00:c41::2 "
	    "udp dport 5353 ct status dnat accept\n"
	    "prerouting: iifname \"up0\" meta nfproto ipv6 udp dport 53 "
	    "dnat ip6 to [fd00:c41::2]:5353\n"
	    "ctr-web: counter packets 0 bytes 0 drop\n"
	    "forward: iifname \"vc-web\" jump ctr-web\n"
	    "forward: oifname \"vc-web\" jump ctr-web\n"
	    "input: iifname \"vc-web\" jump ctr-web\n"
	    "output: oifname \"vc-web\" jump ctr-web\n"
	    "output: oifname \"vc-web\" tcp dport 22 accept\n"
	    "output: oifname \"vc-web\" udp dport 161 accept\n");
	free(plan);

	/* The checks come first, as for net_fw_base_install. */
	base.link_prefix = "vc-a-long-prefix";
	assert_null(net_fw_plan_nft(&base, NULL, &cause));
	assert_string_equal(cause, "the container links' prefix: interface "
				   "name 'vc-a-long-prefix' is longer than 15");
	free(cause);
}

/*
 * c0's guard on an uplink: the answers to its own traffic, IPv6 router and
 * neighbour discovery, its listed ports, and a counted drop of the rest,
 * in the input chain after the container links' rules; a guarded uplink
 * that is a container link, or a port without a protocol, is refused.
 * Proves: NDR 1.13 (what arrives for c0 on an untrusted uplink is
 * controlled: only the listed ports)
 */
static void
test_netfw_plan_guard(void **state)
{
	static const char *const guard[] = { "up0" };
	static const char *const bad_guard[] = { "vc-9" };
	struct net_fw_port ports[2] = { { IPPROTO_TCP, 22 },
		{ IPPROTO_UDP, 161 } };
	struct net_fw_port bad_port[1] = { { 0, 22 } };
	struct net_fw_base base = { .link_prefix = "vc-", .guard = guard,
		.nguard = 1, .c0_ports = ports, .nc0_ports = 2 };
	char *cause = NULL, *plan;

	(void)state;
	plan = net_fw_plan_nft(&base, NULL, &cause);
	assert_non_null(plan);
	assert_string_equal(plan,
	    "forward: iifname \"vc-*\" oifname \"vc-*\" counter packets 0 "
	    "bytes 0 drop\n"
	    "input: iifname \"vc-*\" counter packets 0 bytes 0 drop\n"
	    "output: oifname \"vc-*\" counter packets 0 bytes 0 drop\n"
	    "input: iifname \"up0\" ct state established,related accept\n"
	    "input: iifname \"up0\" icmpv6 type nd-router-solicit accept\n"
	    "input: iifname \"up0\" icmpv6 type nd-router-advert accept\n"
	    "input: iifname \"up0\" icmpv6 type nd-neighbor-solicit accept\n"
	    "input: iifname \"up0\" icmpv6 type nd-neighbor-advert accept\n"
	    "input: iifname \"up0\" tcp dport 22 accept\n"
	    "input: iifname \"up0\" udp dport 161 accept\n"
	    "input: iifname \"up0\" counter packets 0 bytes 0 drop\n");
	free(plan);

	base.guard = bad_guard;
	assert_null(net_fw_plan_nft(&base, NULL, &cause));
	assert_string_equal(cause, "guarded uplink 'vc-9' is a container link");
	free(cause);
	base.guard = guard;
	base.c0_ports = bad_port;
	base.nc0_ports = 1;
	assert_null(net_fw_plan_nft(&base, NULL, &cause));
	assert_string_equal(cause, "c0 port 0: a TCP or UDP port is needed");
	free(cause);
}

/* A rule being built by hand, for what cmld itself never makes. */
static struct nftnl_rule *
rule_new(void)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	assert_non_null(r);
	return r;
}

/* Appends an expression of kind name with up to three u32 attributes
 * (type, value; type 0 ends) and returns it for more. */
static struct nftnl_expr *
rule_expr(struct nftnl_rule *r, const char *name, uint16_t t1, uint32_t v1,
    uint16_t t2, uint32_t v2, uint16_t t3, uint32_t v3)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	assert_non_null(e);
	if (t1 != 0)
		nftnl_expr_set_u32(e, t1, v1);
	if (t2 != 0)
		nftnl_expr_set_u32(e, t2, v2);
	if (t3 != 0)
		nftnl_expr_set_u32(e, t3, v3);
	nftnl_rule_add_expr(r, e);
	return e;
}

/* Appends: cmp (op) of register reg with len bytes of data. */
static void
rule_cmp(struct nftnl_rule *r, uint32_t reg, uint32_t op, const void *data,
    uint32_t len)
{
	struct nftnl_expr *e = rule_expr(r, "cmp", NFTNL_EXPR_CMP_SREG, reg,
	    NFTNL_EXPR_CMP_OP, op, 0, 0);

	nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, data, len);
}

/* Appends: bitwise reg = (reg & mask) ^ 0 over len bytes. */
static void
rule_and(struct nftnl_rule *r, const void *mask, uint32_t len)
{
	static const unsigned char zero[16];
	struct nftnl_expr *e = rule_expr(r, "bitwise",
	    NFTNL_EXPR_BITWISE_SREG, NFT_REG_1, NFTNL_EXPR_BITWISE_DREG,
	    NFT_REG_1, NFTNL_EXPR_BITWISE_LEN, len);

	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

/* Appends: load meta key into register 1. */
static void
rule_meta(struct nftnl_rule *r, uint32_t key)
{
	rule_expr(r, "meta", NFTNL_EXPR_META_KEY, key, NFTNL_EXPR_META_DREG,
	    NFT_REG_1, 0, 0);
}

/* Appends: load len bytes at offset of header base into register 1. */
static void
rule_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = rule_expr(r, "payload",
	    NFTNL_EXPR_PAYLOAD_BASE, base, NFTNL_EXPR_PAYLOAD_OFFSET, off,
	    NFTNL_EXPR_PAYLOAD_LEN, len);

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

/* Appends the verdict v (to chain, if not NULL). */
static void
rule_verdict(struct nftnl_rule *r, int32_t v, const char *chain)
{
	struct nftnl_expr *e = rule_expr(r, "immediate", NFTNL_EXPR_IMM_DREG,
	    NFT_REG_VERDICT, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v, 0, 0);

	if (chain != NULL)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

/* Asserts that r is shown as want, and frees it. */
static void
rule_shown(struct nftnl_rule *r, const char *want)
{
	char *got = net_fw_rule_nft(r);

	assert_string_equal(got, want);
	free(got);
	nftnl_rule_free(r);
}

/*
 * What nft's words cannot say truthfully stays in libnftnl's form, that
 * part only, and the rest of the rule is still in nft's words: a load of
 * a kind not known here, a load no cmp reads (another register), a port
 * without the transport protocol before it, an ICMPv6 type without the
 * family, a mask that is no prefix, conntrack bits without a name, a DNAT
 * with flags, an interface name nft would quote otherwise, and an
 * expression of a kind not known at all.  Negations, ranges, goto, return
 * and continue are said as nft says them.
 * Proves: CR 5.1 (nothing in the kernel is shown as what it is not)
 */
static void
test_netfw_rule_nft_unknown_stays_raw(void **state)
{
	struct nftnl_rule *r;
	struct nftnl_expr *e;
	uint8_t tcp = IPPROTO_TCP, icmp6 = IPPROTO_ICMPV6, ns = 135;
	uint8_t v4 = NFPROTO_IPV4;
	uint16_t port = htons(1024);
	uint32_t mark = 1, bits = 0x100, zero = 0;
	unsigned char addr[4] = { 10, 0, 0, 0 }, mask[4] = { 255, 0, 255, 0 };
	char name[16] = "vc\"x";

	/* A known load next to an unknown one. */
	r = rule_new();
	rule_meta(r, NFT_META_MARK);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &mark, sizeof(mark));
	rule_meta(r, NFT_META_L4PROTO);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &tcp, 1);
	rule_verdict(r, NF_ACCEPT, NULL);
	rule_shown(r, "[ meta load mark => reg 1 ] [ cmp eq reg 1 0x00000001 ] "
		      "meta l4proto tcp accept");

	/* A cmp of another register: the load is not paired. */
	r = rule_new();
	rule_meta(r, NFT_META_L4PROTO);
	rule_cmp(r, NFT_REG_2, NFT_CMP_EQ, &tcp, 1);
	rule_verdict(r, NF_DROP, NULL);
	rule_shown(r, "[ meta load l4proto => reg 1 ] "
		      "[ cmp eq reg 2 0x00000006 ] drop");

	/* A port without "meta l4proto tcp" before it. */
	r = rule_new();
	rule_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &port, 2);
	rule_verdict(r, NFT_RETURN, NULL);
	rule_shown(r, "[ payload load 2b @ transport header + 2 => reg 1 ] "
		      "[ cmp eq reg 1 0x00000004 ] return");

	/* An ICMPv6 type without "meta nfproto ipv6". */
	r = rule_new();
	rule_meta(r, NFT_META_L4PROTO);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &icmp6, 1);
	rule_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &ns, 1);
	rule_verdict(r, NFT_CONTINUE, NULL);
	rule_shown(r, "meta l4proto ipv6-icmp "
		      "[ payload load 1b @ transport header + 0 => reg 1 ] "
		      "[ cmp eq reg 1 0x00000087 ] continue");

	/* A mask that is no prefix; negations and ranges. */
	r = rule_new();
	rule_meta(r, NFT_META_NFPROTO);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &v4, 1);
	rule_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	rule_and(r, mask, 4);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, addr, 4);
	rule_meta(r, NFT_META_IIFNAME);
	rule_cmp(r, NFT_REG_1, NFT_CMP_NEQ, "up0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	rule_meta(r, NFT_META_L4PROTO);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, &tcp, 1);
	rule_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
	rule_cmp(r, NFT_REG_1, NFT_CMP_LT, &port, 2);
	rule_verdict(r, NFT_GOTO, "ctr-x");
	rule_shown(r, "meta nfproto ipv4 "
		      "[ payload load 4b @ network header + 16 => reg 1 ] "
		      "[ bitwise reg 1 = ( reg 1 & 0x00ff00ff ) ^ 0x00000000 ] "
		      "[ cmp eq reg 1 0x0000000a ] iifname != \"up0\" "
		      "tcp sport < 1024 goto ctr-x");

	/* Conntrack bits without a name; a name nft would escape. */
	r = rule_new();
	rule_expr(r, "ct", NFTNL_EXPR_CT_KEY, NFT_CT_STATE,
	    NFTNL_EXPR_CT_DREG, NFT_REG_1, 0, 0);
	rule_and(r, &bits, sizeof(bits));
	rule_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, sizeof(zero));
	rule_meta(r, NFT_META_OIFNAME);
	rule_cmp(r, NFT_REG_1, NFT_CMP_EQ, name, sizeof(name));
	rule_shown(r, "[ ct load state => reg 1 ] "
		      "[ bitwise reg 1 = ( reg 1 & 0x00000100 ) ^ 0x00000000 ] "
		      "[ cmp neq reg 1 0x00000000 ] "
		      "[ meta load oifname => reg 1 ] "
		      "[ cmp eq reg 1 0x78226376 0x00000000 0x00000000 "
		      "0x00000000 ]");

	/* A DNAT to an address only; a kind not known at all; a DNAT with
	 * a flag nft would show. */
	r = rule_new();
	e = rule_expr(r, "immediate", NFTNL_EXPR_IMM_DREG, NFT_REG_1, 0, 0, 0,
	    0);
	nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, addr, 4);
	rule_expr(r, "nat", NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT,
	    NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4, NFTNL_EXPR_NAT_REG_ADDR_MIN,
	    NFT_REG_1);
	rule_expr(r, "notrack", 0, 0, 0, 0, 0, 0);
	rule_shown(r, "dnat ip to 10.0.0.0 [ notrack ]");

	r = rule_new();
	e = rule_expr(r, "immediate", NFTNL_EXPR_IMM_DREG, NFT_REG_1, 0, 0, 0,
	    0);
	nftnl_expr_set_data(e, NFTNL_EXPR_IMM_DATA, addr, 4);
	rule_expr(r, "nat", NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT,
	    NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4, NFTNL_EXPR_NAT_FLAGS,
	    NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PERSISTENT);
	rule_shown(r, "[ immediate reg 1 0x0000000a ] [ nat dnat ip flags 0x9 ]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netfw_prefix_parse_checks_length_and_bits),
		cmocka_unit_test(test_netfw_ctr_check_bad_allowance_refused),
		cmocka_unit_test(test_netfw_plan_island_default_deny),
		cmocka_unit_test(test_netfw_plan_allowances_in_order),
		cmocka_unit_test(test_netfw_plan_nft_every_kind_as_nft_lists_it),
		cmocka_unit_test(test_netfw_plan_guard),
		cmocka_unit_test(test_netfw_rule_nft_unknown_stays_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
