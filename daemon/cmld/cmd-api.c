/*
 * org.varlink.service: introspection, so standard varlink tools can
 * discover and call cmld.
 */
#include "config.h"

#include <string.h>

#include "handlers.h"
#include "interfaces.h"

void
cmd_api_get_info(struct call *call)
{
	struct json_object *p, *ifaces;
	size_t i;

	p = json_object_new_object();
	json_object_object_add(p, "vendor", json_object_new_string("cml"));
	json_object_object_add(p, "product",
	    json_object_new_string(PACKAGE_NAME));
	json_object_object_add(p, "version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(p, "url", json_object_new_string(PACKAGE_URL));
	ifaces = json_object_new_array();
	for (i = 0; i < cml_interfaces_len; i++)
		json_object_array_add(ifaces,
		    json_object_new_string(cml_interfaces[i].name));
	json_object_object_add(p, "interfaces", ifaces);
	call_reply(call, p);
}

void
cmd_api_get_interface_description(struct call *call)
{
	const struct cml_interface *iface;
	struct json_object *p;
	const char *name;

	name = json_object_get_string(json_object_object_get(call->params,
	    "interface"));
	if ((iface = cml_interface_find(name)) == NULL) {
		call_error(call, PROTO_ERR_INTERFACE_NOT_FOUND, name,
		    "no interface '%s': 'api info' lists them", name);
		return;
	}
	p = json_object_new_object();
	json_object_object_add(p, "description",
	    json_object_new_string(iface->description));
	call_reply(call, p);
}
