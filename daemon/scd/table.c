/*
 * scd's command table: every method of org.cml.SCD and varlink's
 * introspection, joined to their handlers by command id.  It is no part
 * of cmld's table: cmlsh never talks to scd (operators reach tokens
 * through cmld's org.cml.Token); the words only name a method in errors
 * and logs.  The socket is root's only, so every caller has the admin
 * role.
 */
#include "config.h"

#include <stddef.h>

#include "context.h"

/* The arguments every token call starts with. */
#define SCD_ARG_NAME \
	{ .name = "name", .type = CMD_ARG_STRING, .metavar = "NAME", \
	  .help = "the token's container" }
#define SCD_ARG_PIN(n, h) \
	{ .name = n, .type = CMD_ARG_STRING, .metavar = "PIN", .help = h }

const struct cmd_entry scd_table[] = {
	{
		.words = "scd status",
		.family = "scd",
		.method = "org.cml.SCD.Status",
		.id = CMD_ID_SCD_STATUS,
		.summary = "show the platform secret, PC/SC and the tokens",
		.flags = CMD_READONLY,
	},
	{
		.words = "scd readers",
		.family = "scd",
		.method = "org.cml.SCD.Readers",
		.id = CMD_ID_SCD_READERS,
		.summary = "list the PC/SC readers and their cards",
		.flags = CMD_READONLY,
	},
	{
		.words = "scd init",
		.family = "scd",
		.method = "org.cml.SCD.Init",
		.id = CMD_ID_SCD_INIT,
		.args = {
			SCD_ARG_NAME,
			{ .name = "type", .type = CMD_ARG_STRING,
			  .metavar = "TYPE",
			  .help = "softtoken or usbtoken" },
			{ .name = "reader", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "READER",
			  .help = "the card's PC/SC reader" },
			SCD_ARG_PIN("pin", "the first PIN"),
			{ .name = "puk", .type = CMD_ARG_STRING,
			  .flags = CMD_ARG_OPTIONAL, .metavar = "PUK",
			  .help = "the PUK (absent: generated)" },
			{ .name = "pin_tries", .type = CMD_ARG_INT,
			  .metavar = "N", .help = "PIN tries", .min = 1,
			  .max = SCD_TRIES_MAX },
			{ .name = "puk_tries", .type = CMD_ARG_INT,
			  .metavar = "N", .help = "PUK tries", .min = 1,
			  .max = SCD_TRIES_MAX },
			{ .name = "force", .type = CMD_ARG_BOOL,
			  .flags = CMD_ARG_OPTIONAL,
			  .help = "destroy a token that exists" },
		},
		.summary = "make a new token for a container",
		.flags = CMD_DESTRUCTIVE,
	},
	{
		.words = "scd token-status",
		.family = "scd",
		.method = "org.cml.SCD.TokenStatus",
		.id = CMD_ID_SCD_TOKEN_STATUS,
		.args = { SCD_ARG_NAME },
		.summary = "show one token",
		.flags = CMD_READONLY,
	},
	{
		.words = "scd list",
		.family = "scd",
		.method = "org.cml.SCD.List",
		.id = CMD_ID_SCD_LIST,
		.summary = "list every token",
		.flags = CMD_READONLY,
	},
	{
		.words = "scd wrap",
		.family = "scd",
		.method = "org.cml.SCD.Wrap",
		.id = CMD_ID_SCD_WRAP,
		.args = {
			SCD_ARG_NAME,
			{ .name = "key", .type = CMD_ARG_STRING,
			  .metavar = "KEY", .help = "the key, base64" },
		},
		.summary = "wrap a key for a token",
	},
	{
		.words = "scd unwrap",
		.family = "scd",
		.method = "org.cml.SCD.Unwrap",
		.id = CMD_ID_SCD_UNWRAP,
		.args = {
			SCD_ARG_NAME,
			SCD_ARG_PIN("pin", "the PIN"),
			{ .name = "wrapped", .type = CMD_ARG_STRING,
			  .metavar = "WRAPPED",
			  .help = "the wrapped key, base64" },
		},
		.summary = "verify the PIN and unwrap a key",
	},
	{
		.words = "scd verify-pin",
		.family = "scd",
		.method = "org.cml.SCD.VerifyPIN",
		.id = CMD_ID_SCD_VERIFY_PIN,
		.args = { SCD_ARG_NAME, SCD_ARG_PIN("pin", "the PIN") },
		.summary = "verify the PIN",
	},
	{
		.words = "scd change-pin",
		.family = "scd",
		.method = "org.cml.SCD.ChangePIN",
		.id = CMD_ID_SCD_CHANGE_PIN,
		.args = {
			SCD_ARG_NAME,
			SCD_ARG_PIN("pin", "the PIN"),
			SCD_ARG_PIN("new_pin", "the new PIN"),
		},
		.summary = "change the PIN",
	},
	{
		.words = "scd unblock",
		.family = "scd",
		.method = "org.cml.SCD.Unblock",
		.id = CMD_ID_SCD_UNBLOCK,
		.args = {
			SCD_ARG_NAME,
			SCD_ARG_PIN("puk", "the PUK"),
			SCD_ARG_PIN("new_pin", "the new PIN"),
		},
		.summary = "unblock the PIN with the PUK",
	},
	{
		.words = "scd remove",
		.family = "scd",
		.method = "org.cml.SCD.Remove",
		.id = CMD_ID_SCD_REMOVE,
		.args = { SCD_ARG_NAME },
		.summary = "forget a token",
		.flags = CMD_DESTRUCTIVE,
	},
	CMD_ENTRY_TAKE_AUDIT("scd", "org.cml.SCD.TakeAudit",
	    CMD_ID_SCD_TAKE_AUDIT),
	CMD_ENTRY_SERVICE_GET_INFO,
	CMD_ENTRY_SERVICE_GET_INTERFACE_DESCRIPTION,
};
const size_t scd_table_len = sizeof scd_table / sizeof scd_table[0];

/* Every method of the table has its handler. */
const call_handler scd_handlers[CMD_ID_COUNT] = {
	[CMD_ID_SCD_STATUS] = scd_cmd_status,
	[CMD_ID_SCD_READERS] = scd_cmd_readers,
	[CMD_ID_SCD_INIT] = scd_cmd_init,
	[CMD_ID_SCD_TOKEN_STATUS] = scd_cmd_token_status,
	[CMD_ID_SCD_LIST] = scd_cmd_list,
	[CMD_ID_SCD_WRAP] = scd_cmd_wrap,
	[CMD_ID_SCD_UNWRAP] = scd_cmd_unwrap,
	[CMD_ID_SCD_VERIFY_PIN] = scd_cmd_verify_pin,
	[CMD_ID_SCD_CHANGE_PIN] = scd_cmd_change_pin,
	[CMD_ID_SCD_UNBLOCK] = scd_cmd_unblock,
	[CMD_ID_SCD_REMOVE] = scd_cmd_remove,
	[CMD_ID_SCD_TAKE_AUDIT] = scd_cmd_take_audit,
	[CMD_ID_SERVICE_GET_INFO] = scd_cmd_get_info,
	[CMD_ID_SERVICE_GET_INTERFACE_DESCRIPTION] =
	    scd_cmd_get_interface_description,
};
