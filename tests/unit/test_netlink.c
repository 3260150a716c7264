/*
 * Unit tests of the container links (daemon/cmld/net-link.c) without a
 * kernel: the address pool (parsing, refusals with their causes, leases
 * that are the same for the same index and never overlap for different
 * ones) and the layout of every rtnetlink request, read back attribute by
 * attribute, including that a request which does not fit its buffer is
 * refused rather than cut.  tests/integration/net-link.sh runs the same
 * code against the kernel.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>

#include "net-link.h"

/* The attributes of one nesting level, by type. */
struct attrs {
	const struct nlattr *tb[64];
};

/* Keeps each attribute by its type (types beyond the table fail). */
static int
attrs_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	assert_true(type < 64);
	assert_null(a->tb[type]); /* each attribute once */
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/* Formats a as text for comparisons. */
static const char *
fmt(const struct net_addr *a)
{
	static char buf[4][NET_ADDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	assert_int_equal(net_addr_format(a, buf[i], sizeof buf[i]), 0);
	return buf[i];
}

/* Sets up pool from v4 and v6; fails the test if it cannot. */
static void
pool_ok(struct net_pool *pool, const char *v4, const char *v6)
{
	char *cause = NULL;

	if (net_pool_init(pool, v4, v6, &cause) == -1)
		fail_msg("pool %s %s: %s", v4, v6, cause);
	assert_null(cause);
}

/* Expects the pool from v4 and v6 to be refused with cause want. */
static void
pool_refused(const char *v4, const char *v6, const char *want)
{
	struct net_pool pool;
	char *cause = NULL;

	assert_int_equal(net_pool_init(&pool, v4, v6, &cause), -1);
	assert_non_null(cause);
	assert_string_equal(cause, want);
	free(cause);
}

/* Proves: TSF.ISOL (each link's addresses are fixed by its index). */
static void
test_pool_lease_by_index_fixed(void **state)
{
	struct net_pool pool;
	struct net_lease l;
	char *cause = NULL;

	(void)state;
	pool_ok(&pool, "10.200.0.0/16", "fd00:c41::/48");
	assert_int_equal(pool.size, 16384);
	assert_int_equal(pool.v6_link_prefix, 64);

	assert_int_equal(net_pool_lease(&pool, 0, &l, &cause), 0);
	assert_true(l.has_v4 && l.has_v6);
	assert_string_equal(fmt(&l.c0_v4), "10.200.0.1/30");
	assert_string_equal(fmt(&l.ctr_v4), "10.200.0.2/30");
	assert_string_equal(fmt(&l.c0_v6), "fd00:c41::1/64");
	assert_string_equal(fmt(&l.ctr_v6), "fd00:c41::2/64");

	assert_int_equal(net_pool_lease(&pool, 5, &l, &cause), 0);
	assert_string_equal(fmt(&l.c0_v4), "10.200.0.21/30");
	assert_string_equal(fmt(&l.ctr_v4), "10.200.0.22/30");
	assert_string_equal(fmt(&l.c0_v6), "fd00:c41:0:5::1/64");
	assert_string_equal(fmt(&l.ctr_v6), "fd00:c41:0:5::2/64");

	assert_int_equal(net_pool_lease(&pool, 16383, &l, &cause), 0);
	assert_string_equal(fmt(&l.c0_v4), "10.200.255.253/30");
	assert_string_equal(fmt(&l.ctr_v4), "10.200.255.254/30");
	assert_string_equal(fmt(&l.ctr_v6), "fd00:c41:0:3fff::2/64");

	/* The same index gives the same lease again. */
	{
		struct net_lease again;

		assert_int_equal(net_pool_lease(&pool, 5, &l, &cause), 0);
		assert_int_equal(net_pool_lease(&pool, 5, &again, &cause), 0);
		assert_memory_equal(&l, &again, sizeof l);
	}
	assert_null(cause);
}

/* Proves: TSF.ISOL (no two links share a subnet; a full pool says so). */
static void
test_pool_leases_disjoint_and_bounded(void **state)
{
	struct net_pool pool;
	struct net_lease l;
	char *cause = NULL;
	uint32_t i, base, a;

	(void)state;
	pool_ok(&pool, "192.168.7.0/24", "fd00:1:2:3:4:5:6:700/120");
	/* 64 /30s; the IPv6 /120 holds 64 /126s. */
	assert_int_equal(pool.size, 64);
	assert_int_equal(pool.v6_link_prefix, 126);
	base = ntohl(pool.v4.a.v4.s_addr);
	for (i = 0; i < pool.size; i++) {
		assert_int_equal(net_pool_lease(&pool, i, &l, &cause), 0);
		a = ntohl(l.c0_v4.a.v4.s_addr);
		/* The i-th /30: no other index can get any of its four. */
		assert_int_equal(a - base, i * 4 + 1);
		assert_int_equal(ntohl(l.ctr_v4.a.v4.s_addr), a + 1);
		assert_int_equal(l.c0_v6.a.v6.s6_addr[15], (i * 4 + 1) & 0xff);
		assert_int_equal(l.ctr_v6.a.v6.s6_addr[14], 7);
		assert_int_equal(l.ctr_v6.prefix, 126);
	}
	assert_int_equal(net_pool_lease(&pool, 64, &l, &cause), -1);
	assert_string_equal(
	    cause, "link 64 is beyond the address pool (64 links)");
	free(cause);
	cause = NULL;
	assert_int_equal(net_pool_lease(&pool, UINT32_MAX, &l, &cause), -1);
	free(cause);
}

/* Proves: none (one family alone is a pool; the other stays unset). */
static void
test_pool_one_family_only(void **state)
{
	struct net_pool pool;
	struct net_lease l;
	char *cause = NULL;

	(void)state;
	pool_ok(&pool, "10.1.0.0/30", NULL);
	assert_int_equal(pool.size, 1);
	assert_int_equal(net_pool_lease(&pool, 0, &l, &cause), 0);
	assert_true(l.has_v4 && !l.has_v6);
	assert_string_equal(fmt(&l.ctr_v4), "10.1.0.2/30");

	pool_ok(&pool, NULL, "fd00::/32");
	assert_int_equal(pool.size, NET_POOL_MAX);
	assert_int_equal(net_pool_lease(&pool, 65535, &l, &cause), 0);
	assert_true(!l.has_v4 && l.has_v6);
	assert_string_equal(fmt(&l.c0_v6), "fd00:0:0:ffff::1/64");
	assert_null(cause);
}

/* Proves: none (bad pools are refused, each with what is wrong). */
static void
test_pool_bad_refused_with_cause(void **state)
{
	(void)state;
	pool_refused(NULL, NULL,
	    "the address pool has neither an IPv4 nor an IPv6 prefix");
	pool_refused("10.200.0.1/16", NULL,
	    "the IPv4 pool '10.200.0.1/16' "
	    "has host bits set (meant 10.200.0.0/16?)");
	pool_refused(NULL, "fd00:c41::1/48",
	    "the IPv6 pool 'fd00:c41::1/48' "
	    "has host bits set (meant fd00:c41::/48?)");
	pool_refused("10.200.0.0/31", NULL,
	    "the IPv4 pool '10.200.0.0/31' is too small: at most /30");
	pool_refused(NULL, "fd00::/127",
	    "the IPv6 pool 'fd00::/127' is too small: at most /126");
	pool_refused("10.200.0.0", NULL,
	    "the IPv4 pool: '10.200.0.0' has "
	    "no prefix length (ADDR/LEN)");
	pool_refused("fd00::/48", NULL,
	    "the IPv4 pool 'fd00::/48' is not an IPv4 prefix");
	pool_refused("10.0.0.0/8", "10.0.0.0/8",
	    "the IPv6 pool '10.0.0.0/8' is not an IPv6 prefix");
	pool_refused("10.0.0.0/33", NULL,
	    "the IPv4 pool: '10.0.0.0/33': the prefix length must be 0..32");
	pool_refused(
	    "ten/8", NULL, "the IPv4 pool: 'ten/8' is no IPv4 or IPv6 address");
}

/* Proves: none (addresses: exact parsing, every malformed form refused). */
static void
test_addr_parse_strict(void **state)
{
	static const char *bad[] = { "", "/", "10.0.0.1/", "10.0.0.1/-1",
		"10.0.0.1/+8", "10.0.0.1/ 8", "10.0.0.1/8x", "10.0.0.1/33",
		"10.1/8", "10.0.0.1 /8", "fd00::/129", "fd00::1::2",
		"10.0.0.1/99999999999999999999", "1.2.3.4.5" };
	struct net_addr a;
	char *cause = NULL, buf[8], longer[128];
	size_t i;

	(void)state;
	assert_int_equal(net_addr_parse("10.0.0.1/8", 1, &a, &cause), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(a.prefix, 8);
	assert_int_equal(net_addr_parse("10.0.0.1", 0, &a, &cause), 0);
	assert_int_equal(a.prefix, 32);
	assert_int_equal(net_addr_parse("::1", 0, &a, &cause), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(a.prefix, 128);
	assert_string_equal(fmt(&a), "::1/128");
	assert_null(cause);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (net_addr_parse(bad[i], 0, &a, &cause) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
	}
	/* Causes carry no control characters from the input. */
	assert_int_equal(net_addr_parse("1\x01\n\x80", 0, &a, &cause), -1);
	assert_string_equal(cause,
	    "'1???"
	    "' is no IPv4 or IPv6 address");
	free(cause);
	cause = NULL;
	memset(longer, '1', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	assert_int_equal(net_addr_parse(longer, 0, &a, &cause), -1);
	assert_string_equal(cause,
	    "'1111111111111111...' is too long for an "
	    "address");
	free(cause);
	/* Formatting never overruns: too small a buffer is an error. */
	assert_int_equal(net_addr_parse("10.0.0.1/8", 1, &a, NULL), 0);
	assert_int_equal(net_addr_format(&a, buf, sizeof buf), -1);
}

/* Proves: none (interface names: what the kernel takes, nothing else). */
static void
test_name_ok_kernel_rules(void **state)
{
	(void)state;
	assert_true(net_link_name_ok("eth0"));
	assert_true(net_link_name_ok("cml-0123456789a")); /* 15 bytes */
	assert_false(net_link_name_ok(""));
	assert_false(net_link_name_ok("cml-0123456789ab")); /* 16 bytes */
	assert_false(net_link_name_ok("."));
	assert_false(net_link_name_ok(".."));
	assert_false(net_link_name_ok("a/b"));
	assert_false(net_link_name_ok("a:b"));
	assert_false(net_link_name_ok("a b"));
	assert_false(net_link_name_ok("a\nb"));
	assert_false(net_link_name_ok("a\x7f"));
	assert_false(net_link_name_ok("\xc3\xa4"));
}

/*
 * Checks that build (one of the request builders, called with a buffer of
 * len bytes) refuses every buffer shorter than the request and returns the
 * same request in one of exactly its size.
 */
#define CHECK_BOUNDED(call)                                                    \
	do {                                                                   \
		size_t len_, need_;                                            \
		const struct nlmsghdr *full_;                                  \
		char small_[512];                                              \
		{                                                              \
			void *buf = big;                                       \
			size_t len = sizeof big;                               \
			full_ = (call);                                        \
		}                                                              \
		assert_non_null(full_);                                        \
		need_ = full_->nlmsg_len;                                      \
		assert_true(need_ <= sizeof small_);                           \
		for (len_ = 0; len_ < need_; len_++) {                         \
			void *buf = small_;                                    \
			size_t len = len_;                                     \
			if ((call) != NULL)                                    \
				fail_msg(                                      \
				    "fit into %zu of %zu bytes", len_, need_); \
		}                                                              \
		{                                                              \
			void *buf = small_;                                    \
			size_t len = need_;                                    \
			assert_non_null(call);                                 \
			assert_memory_equal(small_, big, need_);               \
		}                                                              \
	} while (0)

/* Proves: TSF.ISOL, CR 5.1 (the veth pair's far end is created directly in
 * the container's namespace: it never exists in c0's). */
static void
test_msg_veth_layout(void **state)
{
	char big[1024];
	struct nlmsghdr *nlh;
	struct attrs top = { 0 }, info = { 0 }, data = { 0 }, peer = { 0 };
	const struct nlattr *pa;
	const struct ifinfomsg *ifm;

	(void)state;
	memset(big, 0, sizeof big);
	nlh = net_link_msg_veth(big, sizeof big, 42, "cml0", "eth0", 7);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	assert_int_equal(nlh->nlmsg_flags,
	    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	assert_int_equal(nlh->nlmsg_seq, 42);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof(struct ifinfomsg), attrs_cb, &top),
	    MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(top.tb[IFLA_IFNAME]), "cml0");
	assert_null(top.tb[IFLA_NET_NS_FD]); /* c0's end stays */
	assert_non_null(top.tb[IFLA_LINKINFO]);
	assert_int_equal(
	    mnl_attr_parse_nested(top.tb[IFLA_LINKINFO], attrs_cb, &info),
	    MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(info.tb[IFLA_INFO_KIND]), "veth");
	assert_int_equal(
	    mnl_attr_parse_nested(info.tb[IFLA_INFO_DATA], attrs_cb, &data),
	    MNL_CB_OK);
	pa = data.tb[VETH_INFO_PEER];
	assert_non_null(pa);
	/* The peer: its own ifinfomsg, then its name and namespace. */
	assert_true(mnl_attr_get_payload_len(pa) >= sizeof *ifm);
	ifm = mnl_attr_get_payload(pa);
	assert_int_equal(ifm->ifi_family, AF_UNSPEC);
	assert_int_equal(ifm->ifi_index, 0);
	assert_int_equal(
	    mnl_attr_parse_payload((const char *)ifm + MNL_ALIGN(sizeof *ifm),
		mnl_attr_get_payload_len(pa) - MNL_ALIGN(sizeof *ifm), attrs_cb,
		&peer),
	    MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(peer.tb[IFLA_IFNAME]), "eth0");
	assert_int_equal(mnl_attr_get_u32(peer.tb[IFLA_NET_NS_FD]), 7);

	/* Without a namespace both ends stay. */
	memset(&peer, 0, sizeof peer);
	nlh = net_link_msg_veth(big, sizeof big, 1, "va", "vb", -1);
	assert_non_null(nlh);
	memset(&top, 0, sizeof top);
	memset(&info, 0, sizeof info);
	memset(&data, 0, sizeof data);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof(struct ifinfomsg), attrs_cb, &top),
	    MNL_CB_OK);
	assert_int_equal(
	    mnl_attr_parse_nested(top.tb[IFLA_LINKINFO], attrs_cb, &info),
	    MNL_CB_OK);
	assert_int_equal(
	    mnl_attr_parse_nested(info.tb[IFLA_INFO_DATA], attrs_cb, &data),
	    MNL_CB_OK);
	pa = data.tb[VETH_INFO_PEER];
	assert_int_equal(
	    mnl_attr_parse_payload(
		(const char *)mnl_attr_get_payload(pa) + MNL_ALIGN(sizeof *ifm),
		mnl_attr_get_payload_len(pa) - MNL_ALIGN(sizeof *ifm), attrs_cb,
		&peer),
	    MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(peer.tb[IFLA_IFNAME]), "vb");
	assert_null(peer.tb[IFLA_NET_NS_FD]);

	/* Bad names build nothing. */
	assert_null(net_link_msg_veth(big, sizeof big, 1, "", "vb", -1));
	assert_null(net_link_msg_veth(
	    big, sizeof big, 1, "va", "0123456789abcdef", -1));

	CHECK_BOUNDED(
	    net_link_msg_veth(buf, len, 9, "cml-0123456789a", "eth0", 3));
}

/* Proves: TSF.DEV (interface assignment: the move names the target
 * namespace; setting up changes only IFF_UP). */
static void
test_msg_link_layout(void **state)
{
	char big[512];
	struct nlmsghdr *nlh;
	const struct ifinfomsg *ifm;
	struct attrs a;

	(void)state;
	memset(big, 0, sizeof big);
	nlh = net_link_msg_link(big, sizeof big, 3, RTM_NEWLINK, "up0", 1, -1);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_flags, IFF_UP);
	assert_int_equal(ifm->ifi_change, IFF_UP);
	memset(&a, 0, sizeof a);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof *ifm, attrs_cb, &a), MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(a.tb[IFLA_IFNAME]), "up0");
	assert_null(a.tb[IFLA_NET_NS_FD]);

	nlh = net_link_msg_link(big, sizeof big, 3, RTM_NEWLINK, "up0", 0, 9);
	ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_change, 0);
	memset(&a, 0, sizeof a);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof *ifm, attrs_cb, &a), MNL_CB_OK);
	assert_int_equal(mnl_attr_get_u32(a.tb[IFLA_NET_NS_FD]), 9);

	nlh = net_link_msg_link(big, sizeof big, 3, RTM_DELLINK, "up0", 1, 9);
	assert_int_equal(nlh->nlmsg_type, RTM_DELLINK);
	ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_change, 0); /* only NEWLINK sets flags */
	memset(&a, 0, sizeof a);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof *ifm, attrs_cb, &a), MNL_CB_OK);
	assert_null(a.tb[IFLA_NET_NS_FD]);

	assert_null(
	    net_link_msg_link(big, sizeof big, 3, RTM_NEWADDR, "x", 0, -1));
	assert_null(
	    net_link_msg_link(big, sizeof big, 3, RTM_GETLINK, "a/b", 0, -1));
	CHECK_BOUNDED(
	    net_link_msg_link(buf, len, 5, RTM_NEWLINK, "uplink0", 1, 4));
}

/* Proves: none (an address request: both ends' fields, no DAD wait). */
static void
test_msg_addr_layout(void **state)
{
	char big[512];
	struct nlmsghdr *nlh;
	const struct ifaddrmsg *ifa;
	struct net_addr a;
	struct attrs at;

	(void)state;
	memset(big, 0, sizeof big);
	assert_int_equal(net_addr_parse("fd00:c41::2/64", 1, &a, NULL), 0);
	nlh = net_link_msg_addr(big, sizeof big, 1, 12, &a);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(ifa->ifa_prefixlen, 64);
	assert_int_equal(ifa->ifa_index, 12);
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);
	memset(&at, 0, sizeof at);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof *ifa, attrs_cb, &at), MNL_CB_OK);
	assert_int_equal(mnl_attr_get_payload_len(at.tb[IFA_LOCAL]), 16);
	assert_memory_equal(
	    mnl_attr_get_payload(at.tb[IFA_ADDRESS]), &a.a.v6, 16);
	assert_int_equal(mnl_attr_get_u32(at.tb[IFA_FLAGS]), IFA_F_NODAD);

	assert_int_equal(net_addr_parse("10.200.0.1/30", 1, &a, NULL), 0);
	nlh = net_link_msg_addr(big, sizeof big, 1, 12, &a);
	memset(&at, 0, sizeof at);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof *ifa, attrs_cb, &at), MNL_CB_OK);
	assert_int_equal(mnl_attr_get_payload_len(at.tb[IFA_LOCAL]), 4);
	assert_int_equal(
	    *(const uint32_t *)mnl_attr_get_payload(at.tb[IFA_LOCAL]),
	    a.a.v4.s_addr);

	assert_null(net_link_msg_addr(big, sizeof big, 1, 0, &a));
	a.prefix = 33;
	assert_null(net_link_msg_addr(big, sizeof big, 1, 12, &a));
	a.prefix = 30;
	CHECK_BOUNDED(net_link_msg_addr(buf, len, 2, 12, &a));
}

/* Proves: none (the default route: main table, gateway of its family). */
static void
test_msg_route_layout(void **state)
{
	char big[512];
	struct nlmsghdr *nlh;
	const struct rtmsg *rtm;
	struct net_addr gw;
	struct attrs at;

	(void)state;
	memset(big, 0, sizeof big);
	assert_int_equal(net_addr_parse("10.200.0.1", 0, &gw, NULL), 0);
	nlh = net_link_msg_route(big, sizeof big, 1, &gw);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_MAIN);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	memset(&at, 0, sizeof at);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof *rtm, attrs_cb, &at), MNL_CB_OK);
	assert_null(at.tb[RTA_DST]);
	assert_int_equal(mnl_attr_get_payload_len(at.tb[RTA_GATEWAY]), 4);

	assert_int_equal(net_addr_parse("fd00::1", 0, &gw, NULL), 0);
	nlh = net_link_msg_route(big, sizeof big, 1, &gw);
	memset(&at, 0, sizeof at);
	assert_int_equal(
	    mnl_attr_parse(nlh, sizeof *rtm, attrs_cb, &at), MNL_CB_OK);
	assert_int_equal(mnl_attr_get_payload_len(at.tb[RTA_GATEWAY]), 16);
	CHECK_BOUNDED(net_link_msg_route(buf, len, 2, &gw));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_lease_by_index_fixed),
		cmocka_unit_test(test_pool_leases_disjoint_and_bounded),
		cmocka_unit_test(test_pool_one_family_only),
		cmocka_unit_test(test_pool_bad_refused_with_cause),
		cmocka_unit_test(test_addr_parse_strict),
		cmocka_unit_test(test_name_ok_kernel_rules),
		cmocka_unit_test(test_msg_veth_layout),
		cmocka_unit_test(test_msg_link_layout),
		cmocka_unit_test(test_msg_addr_layout),
		cmocka_unit_test(test_msg_route_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
