/* The guided flows. */
#include "config.h"

#include "cmltui.h"

tui_flow_fn
tui_flow_for(const struct cmd_entry *cmd)
{
	(void)cmd;
	return NULL;
}

void
tui_flow_start(struct tui *t, const char *name)
{
	(void)name;
	tui_message(t, "Start", "not yet");
}

void
tui_flow_stop(struct tui *t, const char *name)
{
	(void)name;
	tui_message(t, "Stop", "not yet");
}

void
tui_flow_change_pin(struct tui *t, const char *name)
{
	(void)name;
	tui_message(t, "PIN", "not yet");
}

void
tui_flow_unblock(struct tui *t, const char *name)
{
	(void)name;
	tui_message(t, "PUK", "not yet");
}

void
tui_flow_guestos_install(struct tui *t, const char *dir)
{
	(void)dir;
	tui_message(t, "Install", "not yet");
}

void
tui_audit_push(struct tui *t)
{
	tui_message(t, "Audit", "not yet");
}

void
tui_container_push(struct tui *t, const char *name)
{
	(void)name;
	tui_message(t, "Container", "not yet");
}
