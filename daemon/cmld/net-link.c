/*
 * Container network links: the address pool and the rtnetlink operations
 * (libmnl) that connect a container's network namespace to c0's with a
 * veth pair, address and route it, and move whole interfaces between
 * namespaces (interface assignment).
 *
 * Each operation sends one request with NLM_F_ACK and reads until its
 * ACK: rtnetlink handles a request within the sendmsg call, so the answer
 * is there when recv is called and cmld's loop waits no longer than the
 * kernel takes for that one change.  A receive timeout bounds even that.
 * The socket asks for extended ACKs, so that a cause can carry the
 * kernel's own message ("Invalid prefix length") after the errno text.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "names.h"
#include "net-link.h"
#include "netns.h"
#include "xmalloc.h"

/* How long a request may wait for its answer before it counts as lost. */
#define NET_LINK_TIMEOUT_MS 2000
/* Our requests are small; answers are larger (a link's description with
 * its statistics) but, with NETLINK_CAP_ACK, an error does not echo the
 * request back. */
#define NET_LINK_MSGSIZE 1024
/* What libmnl advises for dumps (MNL_SOCKET_DUMP_SIZE): the kernel sizes
 * a dump's messages by what we read with, up to 32 KiB. */
#define NET_LINK_RECVSIZE 32768
/* Room for an interface name in a cause: the name, or 16 bytes and "...". */
#define NET_LINK_NAMEBUF (IFNAMSIZ + 4)
/* Room for the kernel's extended-ACK message in a cause. */
#define NET_LINK_EXTMSG_MAX 160

/* A NETLINK_ROUTE socket of one network namespace. */
struct net_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
};

/* The names a link dump collects (net_link_list). */
struct net_link_names {
	const char *prefix;
	char **names; /* NULL-terminated */
	size_t n;
};

/* What one request's answer said. */
struct net_link_answer {
	int error; /* errno of a negative ACK, 0 */
	char extmsg[NET_LINK_EXTMSG_MAX]; /* the kernel's message, or "" */
	int ifindex; /* from an RTM_NEWLINK answer */
	struct net_link_names *list; /* a dump's names, or NULL */
};

/* --- addresses and the pool ------------------------------------------ */

/*
 * Copies s into buf (len bytes, at least 4) for a message: bytes other
 * than printable ASCII become '?', and what does not fit is cut, ending in
 * "...".  Returns buf.
 */
static const char *
net_link_printable(const char *s, char *buf, size_t len)
{
	size_t i, n = strnlen(s, len);

	if (n == len)
		n = len - 4;
	for (i = 0; i < n; i++)
		buf[i] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* The full length in bits of family's addresses. */
static unsigned int
net_link_family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

int
net_addr_parse(const char *s, int need_prefix, struct net_addr *a, char **cause)
{
	char buf[NET_ADDR_STRLEN], text[NET_ADDR_STRLEN], *slash, *end;
	unsigned long prefix;

	memset(a, 0, sizeof *a);
	if (strlen(s) >= sizeof buf) {
		xcause(cause, "'%s' is too long for an address",
		    net_link_printable(s, text, 20));
		return -1;
	}
	net_link_printable(s, text, sizeof text);
	memcpy(buf, s, strlen(s) + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, &a->a.v4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &a->a.v6) == 1)
		a->family = AF_INET6;
	else {
		xcause(cause, "'%s' is no IPv4 or IPv6 address", text);
		return -1;
	}
	a->prefix = net_link_family_bits(a->family);
	if (slash == NULL) {
		if (need_prefix) {
			xcause(cause, "'%s' has no prefix length (ADDR/LEN)",
			    text);
			return -1;
		}
		return 0;
	}
	errno = 0;
	if (*slash < '0' || *slash > '9' ||
	    (prefix = strtoul(slash, &end, 10), *end != '\0') || errno != 0 ||
	    prefix > a->prefix) {
		xcause(cause, "'%s': the prefix length must be 0..%u", text,
		    a->prefix);
		return -1;
	}
	a->prefix = (unsigned int)prefix;
	return 0;
}

int
net_addr_format(const struct net_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (inet_ntop(a->family, &a->a, ip, sizeof ip) == NULL)
		return -1;
	n = snprintf(buf, len, "%s/%u", ip, a->prefix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* 1 when a has no bit set beyond its prefix, else 0. */
static int
net_link_host_bits_zero(const struct net_addr *a)
{
	const uint8_t *p = (const uint8_t *)&a->a;
	unsigned int i, nbytes = net_link_family_bits(a->family) / 8;

	for (i = 0; i < nbytes; i++) {
		unsigned int first = i * 8;
		uint8_t mask;

		if (first + 8 <= a->prefix)
			continue;
		mask = first >= a->prefix
		    ? 0xff
		    : (uint8_t)(0xff >> (a->prefix - first));
		if (p[i] & mask)
			return 0;
	}
	return 1;
}

/* How many subnets 2^bits is, capped at NET_POOL_MAX (2^16). */
static uint32_t
net_link_count(unsigned int bits)
{
	return bits >= 16 ? NET_POOL_MAX : (uint32_t)1 << bits;
}

/*
 * Parses one pool prefix s of family into a, at most max_prefix long;
 * what names it in a cause.  0, or -1 with a cause.
 */
static int
net_link_pool_prefix(const char *s, int family, unsigned int max_prefix,
    const char *what, struct net_addr *a, char **cause)
{
	char *why = NULL;
	char want[NET_ADDR_STRLEN];

	if (net_addr_parse(s, 1, a, &why) == -1) {
		xcause(cause, "the %s pool: %s", what, why);
		free(why);
		return -1;
	}
	if (a->family != family) {
		xcause(cause, "the %s pool '%s' is not an %s prefix", what, s,
		    what);
		return -1;
	}
	if (a->prefix > max_prefix) {
		xcause(cause, "the %s pool '%s' is too small: at most /%u",
		    what, s, max_prefix);
		return -1;
	}
	if (!net_link_host_bits_zero(a)) {
		struct net_addr net = *a;
		uint8_t *p = (uint8_t *)&net.a;
		unsigned int i;

		for (i = 0; i < net_link_family_bits(family); i++)
			if (i >= net.prefix)
				p[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		if (net_addr_format(&net, want, sizeof want) == -1)
			snprintf(want, sizeof want, "?");
		xcause(cause, "the %s pool '%s' has host bits set (meant %s?)",
		    what, s, want);
		return -1;
	}
	return 0;
}

int
net_pool_init(
    struct net_pool *pool, const char *v4, const char *v6, char **cause)
{
	uint32_t n4 = NET_POOL_MAX, n6 = NET_POOL_MAX;

	memset(pool, 0, sizeof *pool);
	if (v4 == NULL && v6 == NULL) {
		xcause(cause,
		    "the address pool has neither an IPv4 nor an "
		    "IPv6 prefix");
		return -1;
	}
	if (v4 != NULL) {
		if (net_link_pool_prefix(v4, AF_INET, NET_LINK_V4_PREFIX,
			"IPv4", &pool->v4, cause) == -1)
			return -1;
		pool->has_v4 = 1;
		n4 = net_link_count(NET_LINK_V4_PREFIX - pool->v4.prefix);
	}
	if (v6 != NULL) {
		if (net_link_pool_prefix(v6, AF_INET6, NET_LINK_V6_PREFIX_SMALL,
			"IPv6", &pool->v6, cause) == -1)
			return -1;
		pool->has_v6 = 1;
		pool->v6_link_prefix = pool->v6.prefix <= NET_LINK_V6_PREFIX
		    ? NET_LINK_V6_PREFIX
		    : NET_LINK_V6_PREFIX_SMALL;
		n6 = net_link_count(pool->v6_link_prefix - pool->v6.prefix);
	}
	pool->size = n4 < n6 ? n4 : n6;
	return 0;
}

/* Adds v to the 64-bit big-endian number at p (no carry out: the caller
 * keeps v within the pool's host bits). */
static void
net_link_add_be64(uint8_t *p, uint64_t v)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = x << 8 | p[i];
	x += v;
	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)x;
		x >>= 8;
	}
}

int
net_pool_lease(const struct net_pool *pool, uint32_t index,
    struct net_lease *lease, char **cause)
{
	memset(lease, 0, sizeof *lease);
	if (index >= pool->size) {
		xcause(cause, "link %u is beyond the address pool (%u links)",
		    index, pool->size);
		return -1;
	}
	if (pool->has_v4) {
		uint32_t net = ntohl(pool->v4.a.v4.s_addr) + index * 4;

		lease->has_v4 = 1;
		lease->c0_v4.family = lease->ctr_v4.family = AF_INET;
		lease->c0_v4.prefix = lease->ctr_v4.prefix = NET_LINK_V4_PREFIX;
		lease->c0_v4.a.v4.s_addr = htonl(net + 1);
		lease->ctr_v4.a.v4.s_addr = htonl(net + 2);
	}
	if (pool->has_v6) {
		struct in6_addr net = pool->v6.a.v6;

		if (pool->v6_link_prefix == NET_LINK_V6_PREFIX)
			net_link_add_be64(net.s6_addr, index);
		else
			net_link_add_be64(net.s6_addr + 8, (uint64_t)index * 4);
		lease->has_v6 = 1;
		lease->c0_v6.family = lease->ctr_v6.family = AF_INET6;
		lease->c0_v6.prefix = lease->ctr_v6.prefix =
		    pool->v6_link_prefix;
		lease->c0_v6.a.v6 = lease->ctr_v6.a.v6 = net;
		lease->c0_v6.a.v6.s6_addr[15] |= 1;
		lease->ctr_v6.a.v6.s6_addr[15] |= 2;
	}
	return 0;
}

int
net_link_name_ok(const char *name)
{
	return names_ifname_ok(name, strlen(name));
}

/* --- the requests ------------------------------------------------------ */

/*
 * Starts a request of type with flags in buf (len bytes), its family
 * header (extra bytes) zeroed; NULL if that does not fit.  The whole
 * buffer is zeroed first: libmnl leaves the padding of attributes as it
 * finds it, and the kernel gets no stale bytes from us.
 */
static struct nlmsghdr *
net_link_msg_start(void *buf, size_t len, uint32_t seq, uint16_t type,
    uint16_t flags, size_t extra, void **hdr)
{
	struct nlmsghdr *nlh;

	if (len < MNL_NLMSG_HDRLEN + MNL_ALIGN(extra))
		return NULL;
	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq;
	*hdr = mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

struct nlmsghdr *
net_link_msg_veth(void *buf, size_t len, uint32_t seq, const char *name,
    const char *peer, int peer_nsfd)
{
	struct nlmsghdr *nlh;
	struct nlattr *info, *data, *peerinfo;
	struct ifinfomsg *ifm;
	void *hdr;

	if (!net_link_name_ok(name) || !net_link_name_ok(peer))
		return NULL;
	if ((nlh = net_link_msg_start(buf, len, seq, RTM_NEWLINK,
		 NLM_F_CREATE | NLM_F_EXCL, sizeof *ifm, &hdr)) == NULL)
		return NULL;
	ifm = hdr;
	ifm->ifi_family = AF_UNSPEC;
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, name) ||
	    (info = mnl_attr_nest_start_check(nlh, len, IFLA_LINKINFO)) ==
		NULL ||
	    !mnl_attr_put_strz_check(nlh, len, IFLA_INFO_KIND, "veth") ||
	    (data = mnl_attr_nest_start_check(nlh, len, IFLA_INFO_DATA)) ==
		NULL ||
	    (peerinfo = mnl_attr_nest_start_check(nlh, len, VETH_INFO_PEER)) ==
		NULL)
		return NULL;
	/* The peer's attribute starts with its own ifinfomsg. */
	if (nlh->nlmsg_len + MNL_ALIGN(sizeof *ifm) > len)
		return NULL;
	ifm = mnl_nlmsg_get_payload_tail(nlh);
	memset(ifm, 0, MNL_ALIGN(sizeof *ifm));
	ifm->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof *ifm);
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, peer))
		return NULL;
	if (peer_nsfd != -1 &&
	    !mnl_attr_put_u32_check(
		nlh, len, IFLA_NET_NS_FD, (uint32_t)peer_nsfd))
		return NULL;
	mnl_attr_nest_end(nlh, peerinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nlh;
}

struct nlmsghdr *
net_link_msg_link(void *buf, size_t len, uint32_t seq, uint16_t type,
    const char *name, int up, int nsfd)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	void *hdr;

	if (!net_link_name_ok(name) ||
	    (type != RTM_GETLINK && type != RTM_DELLINK && type != RTM_NEWLINK))
		return NULL;
	if ((nlh = net_link_msg_start(
		 buf, len, seq, type, 0, sizeof *ifm, &hdr)) == NULL)
		return NULL;
	ifm = hdr;
	ifm->ifi_family = AF_UNSPEC;
	if (type == RTM_NEWLINK && up) {
		ifm->ifi_flags = IFF_UP;
		ifm->ifi_change = IFF_UP;
	}
	if (!mnl_attr_put_strz_check(nlh, len, IFLA_IFNAME, name))
		return NULL;
	if (type == RTM_NEWLINK && nsfd != -1 &&
	    !mnl_attr_put_u32_check(nlh, len, IFLA_NET_NS_FD, (uint32_t)nsfd))
		return NULL;
	return nlh;
}

struct nlmsghdr *
net_link_msg_addr(
    void *buf, size_t len, uint32_t seq, int ifindex, const struct net_addr *a)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen;
	void *hdr;

	if (ifindex <= 0 || (a->family != AF_INET && a->family != AF_INET6) ||
	    a->prefix > net_link_family_bits(a->family))
		return NULL;
	if ((nlh = net_link_msg_start(buf, len, seq, RTM_NEWADDR,
		 NLM_F_CREATE | NLM_F_EXCL, sizeof *ifa, &hdr)) == NULL)
		return NULL;
	ifa = hdr;
	ifa->ifa_family = (uint8_t)a->family;
	ifa->ifa_prefixlen = (uint8_t)a->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* Usable at once: the link is point to point, a duplicate cannot be
	 * on it, and a tentative address would fail the first packets. */
	ifa->ifa_flags = IFA_F_NODAD;
	alen = a->family == AF_INET ? sizeof a->a.v4 : sizeof a->a.v6;
	if (!mnl_attr_put_check(nlh, len, IFA_LOCAL, alen, &a->a) ||
	    !mnl_attr_put_check(nlh, len, IFA_ADDRESS, alen, &a->a) ||
	    !mnl_attr_put_u32_check(nlh, len, IFA_FLAGS, IFA_F_NODAD))
		return NULL;
	return nlh;
}

struct nlmsghdr *
net_link_msg_route(
    void *buf, size_t len, uint32_t seq, const struct net_addr *gw)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	void *hdr;

	if (gw->family != AF_INET && gw->family != AF_INET6)
		return NULL;
	if ((nlh = net_link_msg_start(buf, len, seq, RTM_NEWROUTE,
		 NLM_F_CREATE | NLM_F_EXCL, sizeof *rtm, &hdr)) == NULL)
		return NULL;
	rtm = hdr;
	rtm->rtm_family = (uint8_t)gw->family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	if (!mnl_attr_put_check(nlh, len, RTA_GATEWAY,
		gw->family == AF_INET ? sizeof gw->a.v4 : sizeof gw->a.v6,
		&gw->a))
		return NULL;
	return nlh;
}

/* --- the socket ---------------------------------------------------------- */

struct net_nl *
net_nl_open(int nsfd, char **cause)
{
	struct net_nl *nl;
	struct mnl_socket *sock;
	struct timeval tv = { NET_LINK_TIMEOUT_MS / 1000,
		(NET_LINK_TIMEOUT_MS % 1000) * 1000 };
	int self, one = 1;

	if (netns_enter(nsfd, &self, cause) == -1)
		return NULL;
	sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	netns_leave(self);
	if (sock == NULL) {
		xcause(cause, "opening a netlink socket failed: %s",
		    strerror(errno));
		return NULL;
	}
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) == -1) {
		xcause(cause, "binding the netlink socket failed: %s",
		    strerror(errno));
		mnl_socket_close(sock);
		return NULL;
	}
	/* Kernel messages in causes, and errors without our request echoed;
	 * both optional (older kernels answer without them). */
	(void)mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof one);
	(void)mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof one);
	if (setsockopt(mnl_socket_get_fd(sock), SOL_SOCKET, SO_RCVTIMEO, &tv,
		sizeof tv) == -1) {
		xcause(cause,
		    "setting the netlink socket's timeout failed: "
		    "%s",
		    strerror(errno));
		mnl_socket_close(sock);
		return NULL;
	}
	nl = xcalloc(1, sizeof *nl);
	nl->sock = sock;
	nl->portid = mnl_socket_get_portid(sock);
	nl->seq = (uint32_t)time(NULL);
	return nl;
}

void
net_nl_close(struct net_nl *nl)
{
	if (nl == NULL)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

/* Keeps the kernel's extended-ACK message (printable ASCII, bounded). */
static int
net_link_extack_cb(const struct nlattr *attr, void *data)
{
	struct net_link_answer *ans = data;

	if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG ||
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == -1)
		return MNL_CB_OK;
	net_link_printable(
	    mnl_attr_get_str(attr), ans->extmsg, sizeof ans->extmsg);
	return MNL_CB_OK;
}

/* Handles NLMSG_ERROR: an ACK ends the answer, an error is kept. */
static int
net_link_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct net_link_answer *ans = data;
	const struct nlmsgerr *err;
	unsigned int off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *err)) {
		ans->error = EBADMSG;
		return MNL_CB_ERROR;
	}
	err = mnl_nlmsg_get_payload(nlh);
	if (err->error == 0)
		return MNL_CB_STOP;
	ans->error = err->error < 0 ? -err->error : EPROTO;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		off = sizeof *err;
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += err->msg.nlmsg_len > MNL_NLMSG_HDRLEN
			    ? err->msg.nlmsg_len - MNL_NLMSG_HDRLEN
			    : 0;
		if (MNL_NLMSG_HDRLEN + MNL_ALIGN(off) < nlh->nlmsg_len)
			(void)mnl_attr_parse(
			    nlh, MNL_ALIGN(off), net_link_extack_cb, ans);
	}
	return MNL_CB_ERROR;
}

/* Keeps an RTM_NEWLINK answer's name (for a dump's list) or index. */
static int
net_link_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct net_link_answer *ans = data;
	struct net_link_names *l = ans->list;
	const struct ifinfomsg *ifm;
	const struct nlattr *attr;
	const char *name;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof *ifm))
		return MNL_CB_OK;
	ifm = mnl_nlmsg_get_payload(nlh);
	ans->ifindex = ifm->ifi_index;
	if (l == NULL)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof *ifm)
	{
		if (mnl_attr_get_type(attr) != IFLA_IFNAME ||
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == -1)
			continue;
		name = mnl_attr_get_str(attr);
		if (strncmp(name, l->prefix, strlen(l->prefix)) != 0 ||
		    !net_link_name_ok(name))
			break;
		l->names = xreallocarray(l->names, l->n + 2, sizeof *l->names);
		l->names[l->n++] = xstrdup(name);
		l->names[l->n] = NULL;
		break;
	}
	return MNL_CB_OK;
}

/* Ends a dump; one that the kernel cut short carries its error. */
static int
net_link_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct net_link_answer *ans = data;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof err) {
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
		if (err < 0) {
			ans->error = -err;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/*
 * Sends the request nlh on nl and reads its answer up to the ACK (or, for
 * a dump, up to its end), collecting link names into list if not NULL.
 * 0, or -1 with errno set and ans->error (and ans->extmsg) saying why.
 */
static int
net_link_talk(struct net_nl *nl, struct nlmsghdr *nlh,
    struct net_link_names *list, struct net_link_answer *ans)
{
	/* With a table of its own libmnl runs no default for the others. */
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		/* never written */
		[NLMSG_ERROR] = net_link_error_cb,
		[NLMSG_DONE] = net_link_done_cb,
	};
	char buf[NET_LINK_RECVSIZE];
	ssize_t n;
	int ret;

	memset(ans, 0, sizeof *ans);
	ans->list = list;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) == -1) {
		ans->error = errno;
		return -1;
	}
	do {
		if ((n = mnl_socket_recvfrom(nl->sock, buf, sizeof buf)) ==
		    -1) {
			ans->error = errno == EAGAIN || errno == EWOULDBLOCK
			    ? ETIMEDOUT
			    : errno;
			errno = ans->error;
			return -1;
		}
		ret = mnl_cb_run2(buf, (size_t)n, nlh->nlmsg_seq, nl->portid,
		    net_link_data_cb, ans, ctl, NLMSG_MIN_TYPE);
	} while (ret > 0);
	if (ret == -1) {
		if (ans->error == 0)
			ans->error = errno;
		errno = ans->error;
		return -1;
	}
	return 0;
}

/* Sets *cause to "WHAT failed: ERRNO TEXT (the kernel's message)". */
static void
net_link_cause(
    char **cause, const char *what, const struct net_link_answer *ans)
{
	xcause(cause, "%s failed: %s%s%s%s", what, strerror(ans->error),
	    ans->extmsg[0] != '\0' ? " (" : "", ans->extmsg,
	    ans->extmsg[0] != '\0' ? ")" : "");
}

/*
 * Sends a request built into buf (NULL: it did not fit or was invalid)
 * and sets a cause naming what on failure.  0 or -1.
 */
static int
net_link_request(struct net_nl *nl, struct nlmsghdr *nlh, const char *what,
    struct net_link_answer *ans, char **cause)
{
	if (nlh == NULL) {
		xcause(
		    cause, "%s failed: invalid name or request too long", what);
		return -1;
	}
	if (net_link_talk(nl, nlh, NULL, ans) == -1) {
		net_link_cause(cause, what, ans);
		return -1;
	}
	return 0;
}

/* --- the operations ------------------------------------------------------ */

int
net_link_index(struct net_nl *nl, const char *name, char **cause)
{
	char buf[NET_LINK_MSGSIZE], n[NET_LINK_NAMEBUF], what[64];
	struct net_link_answer ans;
	struct nlmsghdr *nlh;

	snprintf(what, sizeof what, "looking up link '%s'",
	    net_link_printable(name, n, sizeof n));
	nlh = net_link_msg_link(buf, sizeof buf, 0, RTM_GETLINK, name, 0, -1);
	if (nlh == NULL) {
		xcause(cause, "%s failed: invalid name", what);
		return -1;
	}
	if (net_link_talk(nl, nlh, NULL, &ans) == -1) {
		if (ans.error == ENODEV)
			return 0;
		net_link_cause(cause, what, &ans);
		return -1;
	}
	if (ans.ifindex <= 0) {
		xcause(
		    cause, "%s failed: the kernel's answer has no index", what);
		return -1;
	}
	return ans.ifindex;
}

int
net_link_list(struct net_nl *nl, const char *prefix, char ***names, size_t *n,
    char **cause)
{
	char buf[NET_LINK_MSGSIZE];
	struct net_link_names list = { prefix, NULL, 0 };
	struct net_link_answer ans;
	struct nlmsghdr *nlh;
	void *hdr;

	*names = NULL;
	*n = 0;
	nlh = net_link_msg_start(buf, sizeof buf, 0, RTM_GETLINK, NLM_F_DUMP,
	    sizeof(struct ifinfomsg), &hdr);
	if (nlh == NULL) {
		xcause(cause, "listing the links failed: request too long");
		return -1;
	}
	/* A dump ends with NLMSG_DONE, not with an ACK. */
	nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	if (net_link_talk(nl, nlh, &list, &ans) == -1) {
		net_link_cause(cause, "listing the links", &ans);
		net_link_names_free(list.names);
		return -1;
	}
	if (list.names == NULL)
		list.names = xcalloc(1, sizeof *list.names);
	*names = list.names;
	*n = list.n;
	return 0;
}

void
net_link_names_free(char **names)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

int
net_link_add_veth(struct net_nl *nl, const char *name, const char *peer,
    int peer_nsfd, char **cause)
{
	char buf[NET_LINK_MSGSIZE], n[NET_LINK_NAMEBUF], p[NET_LINK_NAMEBUF];
	char what[96];
	struct net_link_answer ans;

	snprintf(what, sizeof what, "creating veth pair '%s'/'%s'",
	    net_link_printable(name, n, sizeof n),
	    net_link_printable(peer, p, sizeof p));
	return net_link_request(nl,
	    net_link_msg_veth(buf, sizeof buf, 0, name, peer, peer_nsfd), what,
	    &ans, cause);
}

int
net_link_del(struct net_nl *nl, const char *name, char **cause)
{
	char buf[NET_LINK_MSGSIZE], n[NET_LINK_NAMEBUF], what[64];
	struct net_link_answer ans;

	snprintf(what, sizeof what, "deleting link '%s'",
	    net_link_printable(name, n, sizeof n));
	return net_link_request(nl,
	    net_link_msg_link(buf, sizeof buf, 0, RTM_DELLINK, name, 0, -1),
	    what, &ans, cause);
}

int
net_link_up(struct net_nl *nl, const char *name, char **cause)
{
	char buf[NET_LINK_MSGSIZE], n[NET_LINK_NAMEBUF], what[64];
	struct net_link_answer ans;

	snprintf(what, sizeof what, "setting link '%s' up",
	    net_link_printable(name, n, sizeof n));
	return net_link_request(nl,
	    net_link_msg_link(buf, sizeof buf, 0, RTM_NEWLINK, name, 1, -1),
	    what, &ans, cause);
}

int
net_link_move(struct net_nl *nl, const char *name, int nsfd, char **cause)
{
	char buf[NET_LINK_MSGSIZE], n[NET_LINK_NAMEBUF], what[80];
	struct net_link_answer ans;

	snprintf(what, sizeof what,
	    "moving link '%s' to another network "
	    "namespace",
	    net_link_printable(name, n, sizeof n));
	if (nsfd < 0) {
		xcause(cause, "%s failed: no namespace given", what);
		return -1;
	}
	return net_link_request(nl,
	    net_link_msg_link(buf, sizeof buf, 0, RTM_NEWLINK, name, 0, nsfd),
	    what, &ans, cause);
}

int
net_link_add_addr(
    struct net_nl *nl, const char *name, const struct net_addr *a, char **cause)
{
	char buf[NET_LINK_MSGSIZE], n[NET_LINK_NAMEBUF], what[128],
	    text[NET_ADDR_STRLEN];
	struct net_link_answer ans;
	int ifindex;

	if (net_addr_format(a, text, sizeof text) == -1)
		snprintf(text, sizeof text, "(invalid address)");
	snprintf(what, sizeof what, "adding address %s to link '%s'", text,
	    net_link_printable(name, n, sizeof n));
	if ((ifindex = net_link_index(nl, name, cause)) == -1)
		return -1;
	if (ifindex == 0) {
		xcause(cause, "%s failed: %s", what, strerror(ENODEV));
		return -1;
	}
	return net_link_request(nl,
	    net_link_msg_addr(buf, sizeof buf, 0, ifindex, a), what, &ans,
	    cause);
}

int
net_link_add_default_route(
    struct net_nl *nl, const struct net_addr *gw, char **cause)
{
	char buf[NET_LINK_MSGSIZE], what[96], ip[INET6_ADDRSTRLEN];
	struct net_link_answer ans;

	if (inet_ntop(gw->family, &gw->a, ip, sizeof ip) == NULL)
		snprintf(ip, sizeof ip, "(invalid address)");
	snprintf(what, sizeof what, "adding a default route via %s", ip);
	return net_link_request(
	    nl, net_link_msg_route(buf, sizeof buf, 0, gw), what, &ans, cause);
}

int
net_link_forwarding(int nsfd, int family, int on, char **cause)
{
	const char *path = family == AF_INET
	    ? "/proc/sys/net/ipv4/ip_forward"
	    : "/proc/sys/net/ipv6/conf/all/forwarding";
	const char *val = on ? "1\n" : "0\n";
	int fd, self;

	if (family != AF_INET && family != AF_INET6) {
		xcause(cause, "setting forwarding failed: unknown family %d",
		    family);
		return -1;
	}
	/* /proc/sys/net is the namespace of whoever opens the file. */
	if (netns_enter(nsfd, &self, cause) == -1)
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	netns_leave(self);
	if (fd == -1) {
		xcause(cause, "opening %s failed: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		xcause(cause, "writing %s failed: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) == -1) {
		xcause(cause, "writing %s failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
net_link_connect(struct net_nl *c0, struct net_nl *ctr, int ctr_nsfd,
    const char *c0_name, const char *ctr_name, const struct net_lease *lease,
    char **cause)
{
	char *why = NULL, *why_del = NULL;

	if (net_link_add_veth(c0, c0_name, ctr_name, ctr_nsfd, cause) == -1)
		return -1;
	if ((lease->has_v4 &&
		(net_link_add_addr(c0, c0_name, &lease->c0_v4, &why) == -1 ||
		    net_link_add_addr(ctr, ctr_name, &lease->ctr_v4, &why) ==
			-1)) ||
	    (lease->has_v6 &&
		(net_link_add_addr(c0, c0_name, &lease->c0_v6, &why) == -1 ||
		    net_link_add_addr(ctr, ctr_name, &lease->ctr_v6, &why) ==
			-1)) ||
	    net_link_up(c0, c0_name, &why) == -1 ||
	    net_link_up(ctr, ctr_name, &why) == -1 ||
	    (lease->has_v4 &&
		net_link_add_default_route(ctr, &lease->c0_v4, &why) == -1) ||
	    (lease->has_v6 &&
		net_link_add_default_route(ctr, &lease->c0_v6, &why) == -1))
		goto fail;
	return 0;

fail:
	/* The peer goes with c0's end, and its addresses and routes with it. */
	if (net_link_del(c0, c0_name, &why_del) == -1)
		xcause(cause, "%s; removing the link again: %s", why, why_del);
	else
		xcause(cause, "%s", why);
	free(why_del);
	free(why);
	return -1;
}

int
net_link_disconnect(struct net_nl *c0, const char *c0_name, char **cause)
{
	int ifindex;

	if ((ifindex = net_link_index(c0, c0_name, cause)) == -1)
		return -1;
	if (ifindex == 0)
		return 0;
	return net_link_del(c0, c0_name, cause);
}
