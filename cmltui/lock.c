/* The idle lock (CR 2.5). */
#include "config.h"

#include "cmltui.h"

void
tui_lock_setting(struct tui *t)
{
	t->idle_timeout = 0;
}

int
tui_lock(struct tui *t)
{
	t->locked = 0;
	return 0;
}
