/*
 * Unit tests of the container links' firewall (daemon/cmld/net-fw.c)
 * without the kernel: the address prefixes it parses, the allowances it
 * refuses before anything is sent (with a cause naming the allowance), and
 * the messages it plans for one transaction (the rules, their chains, their
 * order).  tests/integration/net-fw.sh applies them to a kernel and sends
 * traffic through them.  What each test proves is tagged on the test.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netfw_prefix_parse_checks_length_and_bits),
		cmocka_unit_test(test_netfw_ctr_check_bad_allowance_refused),
		cmocka_unit_test(test_netfw_plan_island_default_deny),
		cmocka_unit_test(test_netfw_plan_allowances_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
