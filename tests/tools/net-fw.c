/*
 * Drives daemon/cmld/net-fw.c from the shell, for
 * tests/integration/net-fw.sh: each command is one call of the firewall's
 * interface in the caller's network namespace.
 *
 *   net-fw base PREFIX [MASQ-UPLINK...]
 *   net-fw add|plan ID LINK [ALLOWANCE...]
 *       egress UPLINK PREFIX PORT     (PORT: any, tcp, udp, tcp/N, udp/N;
 *                                      PREFIX "raw:ADDR/LEN": LEN unchecked)
 *       forward UPLINK PORT ADDR TO-PORT
 *       mgmt PORT
 *   net-fw remove ID
 *   net-fw ids
 *   net-fw list
 *
 * Exit status: 0 done, 1 refused (the cause on stderr), 2 usage.
 */
#include "config.h"

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "net-fw.h"
#include "xmalloc.h"

/* The most allowances of each kind the tool takes. */
#define TOOL_MAX 64

/* Prints the usage and exits 2. */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: net-fw base PREFIX [MASQ-UPLINK...]\n"
	    "       net-fw add|plan ID LINK [egress UPLINK PREFIX PORT | "
	    "forward UPLINK PORT ADDR TO-PORT | mgmt PORT]...\n"
	    "       net-fw remove ID | ids | list\n");
	exit(2);
}

/* Parses a port number 1..65535; exits 2 otherwise. */
static uint16_t
parse_num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v == 0 || v > 65535) {
		fprintf(stderr, "net-fw: '%s' is no port\n", s);
		exit(2);
	}
	return (uint16_t)v;
}

/* Parses "any", "tcp", "udp", "tcp/N" or "udp/N"; exits 2 otherwise. */
static struct net_fw_port
parse_port(const char *s)
{
	struct net_fw_port p = { 0 };

	if (strcmp(s, "any") == 0)
		return p;
	if (strncmp(s, "tcp", 3) == 0)
		p.proto = IPPROTO_TCP;
	else if (strncmp(s, "udp", 3) == 0)
		p.proto = IPPROTO_UDP;
	else {
		fprintf(stderr, "net-fw: '%s' is no protocol and port\n", s);
		exit(2);
	}
	if (s[3] == '/')
		p.port = parse_num(s + 4);
	else if (s[3] != '\0') {
		fprintf(stderr, "net-fw: '%s' is no protocol and port\n", s);
		exit(2);
	}
	return p;
}

/* Parses an address prefix as the firewall does; exits 2 on error.
 * "raw:ADDR/LEN" takes any LEN unchecked: what a caller's bug would pass. */
static struct net_fw_prefix
parse_prefix(const char *s)
{
	struct net_fw_prefix p;
	char *cause = NULL, buf[64], *slash;

	if (strncmp(s, "raw:", 4) == 0 && strlen(s + 4) < sizeof(buf) &&
	    (slash = strchr(strcpy(buf, s + 4), '/')) != NULL) {
		*slash = '\0';
		if (net_fw_prefix_parse(buf, &p, &cause) == 0) {
			p.len = (unsigned int)strtoul(slash + 1, NULL, 10);
			return p;
		}
	}
	if (net_fw_prefix_parse(s, &p, &cause) == -1) {
		fprintf(stderr, "net-fw: %s\n", cause);
		exit(2);
	}
	return p;
}

/* Parses "ID LINK ALLOWANCE..." into ctr, whose arrays are static. */
static void
parse_ctr(int argc, char **argv, struct net_fw_ctr *ctr)
{
	static struct net_fw_egress eg[TOOL_MAX];
	static struct net_fw_forward fwd[TOOL_MAX];
	static struct net_fw_port mgmt[TOOL_MAX];
	int i = 2;

	if (argc < 2)
		usage();
	memset(ctr, 0, sizeof(*ctr));
	ctr->id = argv[0];
	ctr->link = argv[1];
	ctr->egress = eg;
	ctr->forward = fwd;
	ctr->mgmt = mgmt;
	while (i < argc) {
		if (strcmp(argv[i], "egress") == 0 && i + 3 < argc &&
		    ctr->negress < TOOL_MAX) {
			eg[ctr->negress].uplink = argv[i + 1];
			eg[ctr->negress].dst = parse_prefix(argv[i + 2]);
			eg[ctr->negress].port = parse_port(argv[i + 3]);
			ctr->negress++;
			i += 4;
		} else if (strcmp(argv[i], "forward") == 0 && i + 4 < argc &&
		    ctr->nforward < TOOL_MAX) {
			fwd[ctr->nforward].uplink = argv[i + 1];
			fwd[ctr->nforward].port = parse_port(argv[i + 2]);
			fwd[ctr->nforward].to_addr = parse_prefix(argv[i + 3]);
			fwd[ctr->nforward].to_port = parse_num(argv[i + 4]);
			ctr->nforward++;
			i += 5;
		} else if (strcmp(argv[i], "mgmt") == 0 && i + 1 < argc &&
		    ctr->nmgmt < TOOL_MAX) {
			mgmt[ctr->nmgmt++] = parse_port(argv[i + 1]);
			i += 2;
		} else
			usage();
	}
}

/* Runs one command; see the top of the file. */
int
main(int argc, char **argv)
{
	struct net_fw *fw = NULL;
	struct net_fw_base base = { 0 };
	struct net_fw_ctr ctr;
	struct json_object *j;
	char *cause = NULL, *plan, **ids;
	size_t n, i;
	int ret = 1;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "plan") == 0) {
		parse_ctr(argc - 2, argv + 2, &ctr);
		if ((plan = net_fw_ctr_plan(&ctr, &cause)) == NULL)
			goto out;
		fputs(plan, stdout);
		free(plan);
		return 0;
	}
	if ((fw = net_fw_open(-1, &cause)) == NULL)
		goto out;
	if (strcmp(argv[1], "base") == 0 && argc >= 3) {
		base.link_prefix = argv[2];
		base.masquerade = (const char *const *)argv + 3;
		base.nmasquerade = argc - 3;
		ret = net_fw_base_install(fw, &base, &cause) == -1;
	} else if (strcmp(argv[1], "add") == 0) {
		parse_ctr(argc - 2, argv + 2, &ctr);
		ret = net_fw_ctr_add(fw, &ctr, &cause) == -1;
	} else if (strcmp(argv[1], "remove") == 0 && argc == 3)
		ret = net_fw_ctr_remove(fw, argv[2], &cause) == -1;
	else if (strcmp(argv[1], "ids") == 0 && argc == 2) {
		if (net_fw_ctr_ids(fw, &ids, &n, &cause) == 0) {
			for (i = 0; i < n; i++) {
				printf("%s\n", ids[i]);
				free(ids[i]);
			}
			free(ids);
			ret = 0;
		}
	} else if (strcmp(argv[1], "list") == 0 && argc == 2) {
		if ((j = net_fw_list(fw, &cause)) != NULL) {
			printf("%s\n", json_object_to_json_string_ext(j,
			    JSON_C_TO_STRING_PRETTY |
				JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(j);
			ret = 0;
		}
	} else {
		net_fw_close(fw);
		usage();
	}
out:
	if (ret != 0 && cause != NULL)
		fprintf(stderr, "net-fw: %s\n", cause);
	free(cause);
	net_fw_close(fw);
	return ret;
}
