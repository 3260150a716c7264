/*
 * The network commands (NDR 5.2, CR 5.1): a container's network
 * (org.cml.Container.NetShow), and the whole of it (org.cml.Network:
 * Status, Rules).  Read-only views of what net.c keeps and of cmld's
 * nftables table as the kernel has it, so that an operator sees the rules
 * in force, not the ones a config asks for.
 */
#include "config.h"

#include <stdlib.h>

#include "ctr.h"
#include "ctx.h"
#include "handlers.h"
#include "net.h"

/* Answers a view net.c made, or the cause it gave (freed). */
static void
cmd_net_answer(struct call *call, struct json_object *o, char *cause)
{
	if (o == NULL) {
		call_error(call, PROTO_ERR_FAILED, NULL, "%s",
		    cause != NULL ? cause : "the network is not known");
		free(cause);
		return;
	}
	call_reply(call, o);
}

void
cmd_container_net_show(struct call *call)
{
	struct json_object *o;
	const char *name;
	struct ctr *k;
	char *cause = NULL;

	name = json_object_get_string(
	    json_object_object_get(call->params, "name"));
	if ((k = ctr_find(call_cmld(call), name)) == NULL) {
		call_error(call, PROTO_ERR_NOT_FOUND, "name",
		    "no container '%s': 'container list' shows them", name);
		return;
	}
	o = net_ctr_show(k, &cause);
	cmd_net_answer(call, o, cause);
}

/* Answers a view of the whole network: net_status or net_rules. */
static void
cmd_net_whole(
    struct call *call, struct json_object *(*view)(struct cmld *, char **))
{
	char *cause = NULL;
	struct json_object *o;

	o = view(call_cmld(call), &cause);
	cmd_net_answer(call, o, cause);
}

void
cmd_net_status(struct call *call)
{
	cmd_net_whole(call, net_status);
}

void
cmd_net_rules(struct call *call)
{
	cmd_net_whole(call, net_rules);
}
