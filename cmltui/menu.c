/* The menus: families -> commands -> form, from the command table. */
#include "config.h"

#include "cmltui.h"

void
tui_menu_push(struct tui *t)
{
	tui_message(t, "Menu", "not yet");
}

int
tui_menu_offers(const struct cmd_entry *cmd)
{
	(void)cmd;
	return 0;
}
