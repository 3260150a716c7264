/*
 * org.varlink.service: introspection, so standard varlink tools can
 * discover and call cmld.
 */
#include "config.h"

#include "daemon.h"
#include "handlers.h"
#include "interfaces.h"

static const struct daemon_info cmld_info = {
	.product = PACKAGE_NAME,
	.interfaces = cml_interfaces,
	.ninterfaces = &cml_interfaces_len,
	.find = cml_interface_find,
	.unknown = ": 'api info' lists them",
};

void
cmd_api_get_info(struct call *call)
{
	daemon_get_info(call, &cmld_info);
}

void
cmd_api_get_interface_description(struct call *call)
{
	daemon_get_interface_description(call, &cmld_info);
}
