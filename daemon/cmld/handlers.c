/*
 * cmld's handlers, joined to the command table by command id at compile
 * time.  test_handlers checks that every command of the table has one.
 */
#include "config.h"

#include "handlers.h"

const call_handler cmld_handlers[CMD_ID_COUNT] = {
	[CMD_ID_DEVICE_STATUS] = cmd_device_status,
	[CMD_ID_DEVICE_GET_CONFIG] = cmd_device_get_config,
	[CMD_ID_DEVICE_SET_CONFIG] = cmd_device_set_config,
	[CMD_ID_DEVICE_RESET_SYSTEM_KEY] = cmd_device_reset_system_key,
	[CMD_ID_DEVICE_WIPE] = cmd_device_wipe,
	[CMD_ID_AUDIT_LIST] = cmd_audit_list,
	[CMD_ID_AUDIT_SHOW] = cmd_audit_show,
	[CMD_ID_AUDIT_ACK] = cmd_audit_ack,
	[CMD_ID_AUDIT_STATUS] = cmd_audit_status,
	[CMD_ID_AUDIT_FOLLOW] = cmd_audit_follow,
	[CMD_ID_AUDIT_EXPORT] = cmd_audit_export,
	[CMD_ID_AUDIT_VERIFY] = cmd_audit_verify,
	[CMD_ID_DEVICE_CSR] = cmd_device_csr,
	[CMD_ID_DEVICE_CERT_INSTALL] = cmd_device_cert_install,
	[CMD_ID_DEVICE_ATTEST] = cmd_device_attest,
	[CMD_ID_TRUST_LIST] = cmd_ca_list,
	[CMD_ID_TRUST_ADD] = cmd_ca_add,
	[CMD_ID_TRUST_REMOVE] = cmd_ca_remove,
	[CMD_ID_GUESTOS_LIST] = cmd_guestos_list,
	[CMD_ID_GUESTOS_INSTALL] = cmd_guestos_install,
	[CMD_ID_GUESTOS_VERIFY] = cmd_guestos_verify,
	[CMD_ID_GUESTOS_REMOVE] = cmd_guestos_remove,
	[CMD_ID_CONTAINER_LIST] = cmd_container_list,
	[CMD_ID_CONTAINER_SHOW] = cmd_container_show,
	[CMD_ID_CONTAINER_STATS] = cmd_container_stats,
	[CMD_ID_CONTAINER_CONFIG] = cmd_container_config,
	[CMD_ID_CONTAINER_CREATE] = cmd_container_create,
	[CMD_ID_CONTAINER_START] = cmd_container_start,
	[CMD_ID_CONTAINER_STOP] = cmd_container_stop,
	[CMD_ID_CONTAINER_KILL] = cmd_container_kill,
	[CMD_ID_CONTAINER_FREEZE] = cmd_container_freeze,
	[CMD_ID_CONTAINER_UNFREEZE] = cmd_container_unfreeze,
	[CMD_ID_CONTAINER_REMOVE] = cmd_container_remove,
	[CMD_ID_CONTAINER_WIPE] = cmd_container_wipe,
	[CMD_ID_CONTAINER_EXEC] = cmd_container_exec,
	[CMD_ID_CONTAINER_LOGS] = cmd_container_logs,
	[CMD_ID_CONTAINER_CONSOLE] = cmd_container_console,
	[CMD_ID_CONTAINER_NET_SHOW] = cmd_container_net_show,
	[CMD_ID_NET_STATUS] = cmd_net_status,
	[CMD_ID_NET_RULES] = cmd_net_rules,
	[CMD_ID_TOKEN_INIT] = cmd_token_init,
	[CMD_ID_TOKEN_STATUS] = cmd_token_status,
	[CMD_ID_TOKEN_READERS] = cmd_token_readers,
	[CMD_ID_TOKEN_VERIFY] = cmd_token_verify,
	[CMD_ID_TOKEN_CHANGE_PIN] = cmd_token_change_pin,
	[CMD_ID_TOKEN_UNBLOCK] = cmd_token_unblock,
	[CMD_ID_SERVICE_GET_INFO] = cmd_api_get_info,
	[CMD_ID_SERVICE_GET_INTERFACE_DESCRIPTION] =
	    cmd_api_get_interface_description,
};
