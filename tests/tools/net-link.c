/*
 * net-link: carries out one operation of cmld's container links
 * (daemon/cmld/net-link.c) from the shell, so that tests drive the real
 * code against the kernel in namespaces they made themselves.
 *
 *   net-link pool V4|- V6|- INDEX
 *   net-link index NS NAME
 *   net-link list NS PREFIX
 *   net-link veth NS NAME PEER_NS PEER
 *   net-link del NS NAME
 *   net-link up NS NAME
 *   net-link addr NS NAME ADDR/LEN
 *   net-link route NS GATEWAY
 *   net-link move NS NAME TO_NS
 *   net-link forward NS 4|6 0|1
 *   net-link connect C0_NS CTR_NS C0_NAME CTR_NAME V4|- V6|- INDEX
 *   net-link disconnect C0_NS C0_NAME
 *
 * NS is a network namespace file (/run/netns/X, /proc/PID/ns/net), or "-"
 * for the tool's own.  pool prints the lease ("c0_v4 10.200.0.1/30", ...),
 * index the link's index or "absent", list the
 * names of the links that begin with PREFIX, one a line.  Exits 0, 1 with
 * "net-link: CAUSE" on stderr, 2 on a usage error.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net-link.h"
#include "xmalloc.h"

/* Prints the usage and exits 2. */
static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: net-link pool|index|list|veth|del|up|addr|route|"
	    "move|forward|connect|disconnect ARGS (see tests/tools/"
	    "net-link.c)\n");
	exit(2);
}

/* Opens the namespace file path ("-": none, -1); exits 1 if it cannot. */
static int
ns_open(const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "net-link: opening %s failed: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	return fd;
}

/* A netlink socket in the namespace file path; exits 1 if none. */
static struct net_nl *
nl_open(const char *path)
{
	struct net_nl *nl;
	char *cause = NULL;
	int fd = ns_open(path);

	nl = net_nl_open(fd, &cause);
	if (fd != -1)
		close(fd);
	if (nl == NULL) {
		fprintf(stderr, "net-link: %s\n", cause);
		exit(1);
	}
	return nl;
}

/* The pool of two arguments ("-": that family absent); exits 1 if bad. */
static void
pool_open(struct net_pool *pool, const char *v4, const char *v6)
{
	char *cause = NULL;

	if (net_pool_init(pool, strcmp(v4, "-") == 0 ? NULL : v4,
		strcmp(v6, "-") == 0 ? NULL : v6, &cause) == -1) {
		fprintf(stderr, "net-link: %s\n", cause);
		exit(1);
	}
}

/* Parses a lease index; exits 2 if it is no number. */
static uint32_t
index_arg(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
	    v > UINT32_MAX)
		usage();
	return (uint32_t)v;
}

/* Prints one address of a lease. */
static void
print_addr(const char *what, const struct net_addr *a)
{
	char buf[NET_ADDR_STRLEN];

	if (net_addr_format(a, buf, sizeof buf) == -1)
		snprintf(buf, sizeof buf, "?");
	printf("%s %s\n", what, buf);
}

/* Runs one operation; returns the exit status. */
int
main(int argc, char **argv)
{
	struct net_nl *nl = NULL, *ctr = NULL;
	struct net_pool pool;
	struct net_lease lease;
	struct net_addr a;
	char *cause = NULL;
	const char *op;
	int ret = -1, fd = -1, n;

	log_init("net-link", 1, LOG_LEVEL_WARNING);
	if (argc < 2)
		usage();
	op = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(op, "pool") == 0 && argc == 3) {
		pool_open(&pool, argv[0], argv[1]);
		if ((ret = net_pool_lease(
			 &pool, index_arg(argv[2]), &lease, &cause)) == 0) {
			if (lease.has_v4) {
				print_addr("c0_v4", &lease.c0_v4);
				print_addr("ctr_v4", &lease.ctr_v4);
			}
			if (lease.has_v6) {
				print_addr("c0_v6", &lease.c0_v6);
				print_addr("ctr_v6", &lease.ctr_v6);
			}
			printf("size %u\n", pool.size);
		}
	} else if (strcmp(op, "index") == 0 && argc == 2) {
		nl = nl_open(argv[0]);
		if ((n = net_link_index(nl, argv[1], &cause)) > 0)
			printf("%d\n", n);
		else if (n == 0)
			printf("absent\n");
		ret = n == -1 ? -1 : 0;
	} else if (strcmp(op, "list") == 0 && argc == 2) {
		char **names;
		size_t i, count;

		nl = nl_open(argv[0]);
		if ((ret = net_link_list(
			 nl, argv[1], &names, &count, &cause)) == 0) {
			for (i = 0; i < count; i++)
				printf("%s\n", names[i]);
			net_link_names_free(names);
		}
	} else if (strcmp(op, "veth") == 0 && argc == 4) {
		nl = nl_open(argv[0]);
		fd = ns_open(argv[2]);
		ret = net_link_add_veth(nl, argv[1], argv[3], fd, &cause);
	} else if (strcmp(op, "del") == 0 && argc == 2) {
		nl = nl_open(argv[0]);
		ret = net_link_del(nl, argv[1], &cause);
	} else if (strcmp(op, "up") == 0 && argc == 2) {
		nl = nl_open(argv[0]);
		ret = net_link_up(nl, argv[1], &cause);
	} else if (strcmp(op, "addr") == 0 && argc == 3) {
		nl = nl_open(argv[0]);
		if ((ret = net_addr_parse(argv[2], 1, &a, &cause)) == 0)
			ret = net_link_add_addr(nl, argv[1], &a, &cause);
	} else if (strcmp(op, "route") == 0 && argc == 2) {
		nl = nl_open(argv[0]);
		if ((ret = net_addr_parse(argv[1], 0, &a, &cause)) == 0)
			ret = net_link_add_default_route(nl, &a, &cause);
	} else if (strcmp(op, "move") == 0 && argc == 3) {
		nl = nl_open(argv[0]);
		fd = ns_open(argv[2]);
		ret = net_link_move(nl, argv[1], fd, &cause);
	} else if (strcmp(op, "forward") == 0 && argc == 3) {
		if ((strcmp(argv[1], "4") != 0 && strcmp(argv[1], "6") != 0) ||
		    (strcmp(argv[2], "0") != 0 && strcmp(argv[2], "1") != 0))
			usage();
		fd = ns_open(argv[0]);
		ret = net_link_forwarding(fd,
		    argv[1][0] == '4' ? AF_INET : AF_INET6, argv[2][0] == '1',
		    &cause);
	} else if (strcmp(op, "connect") == 0 && argc == 7) {
		pool_open(&pool, argv[4], argv[5]);
		if ((ret = net_pool_lease(
			 &pool, index_arg(argv[6]), &lease, &cause)) == 0) {
			nl = nl_open(argv[0]);
			ctr = nl_open(argv[1]);
			fd = ns_open(argv[1]);
			ret = net_link_connect(
			    nl, ctr, fd, argv[2], argv[3], &lease, &cause);
		}
	} else if (strcmp(op, "disconnect") == 0 && argc == 2) {
		nl = nl_open(argv[0]);
		ret = net_link_disconnect(nl, argv[1], &cause);
	} else
		usage();

	if (ret == -1)
		fprintf(stderr, "net-link: %s\n", cause);
	free(cause);
	if (fd != -1)
		close(fd);
	net_nl_close(ctr);
	net_nl_close(nl);
	return ret == -1 ? 1 : 0;
}
