/*
 * cmltui: the console TUI.  A thin client of cmld's control socket, like
 * cmlsh, with the same roles: a dashboard first, menus generated from the
 * command table, forms built from its argument specs, and guided flows
 * drawn by hand for what an operator does most.
 *
 * One state struct (struct tui) and a stack of views: the view on top is
 * drawn into the body (the lines between the title line and the help
 * line), takes the keys, and may wait on a descriptor of its own (a live
 * log, the audit trail followed).  Dialogs (confirm, a PIN, a message)
 * are modal panels above it that read keys through tui_getch, which also
 * keeps the idle lock, the resize and the pushed notices going.
 */
#ifndef CMLTUI_H
#define CMLTUI_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <curses.h>
#include <json-c/json.h>

#include "client.h"
#include "cmdtab.h"

#define TUI_NAME "cmltui"
#define TUI_DEFAULT_SOCKET "/run/cml/control.sock"

/* Exit statuses. */
#define TUI_EXIT_OK CLIENT_EXIT_OK
#define TUI_EXIT_FAILED CLIENT_EXIT_FAILED
#define TUI_EXIT_USAGE CLIENT_EXIT_USAGE

/* The smallest terminal every screen is laid out for. */
#define TUI_MIN_COLS 80
#define TUI_MIN_ROWS 24

/* How often the dashboard asks cmld again, by default (--interval). */
#define TUI_REFRESH_MS 2000
/* How often a lost cmld is tried again. */
#define TUI_RECONNECT_MS 1000
/* How long a banner of a pushed notice stays (a key dismisses it). */
#define TUI_BANNER_SECONDS 30
/* The samples kept for a sparkline. */
#define TUI_HISTORY 32

/* Keys with a name of their own. */
#define TUI_KEY_ESC 27
#define TUI_KEY_TAB '\t'
#define TUI_KEY_ENTER '\n'
#define TUI_IS_ENTER(c) ((c) == '\n' || (c) == '\r' || (c) == KEY_ENTER)
#define TUI_CTRL(c) ((c) & 0x1f)

/* What tui_getch returns besides a key. */
#define TUI_TICK (-2) /* the refresh interval passed: redraw live data */
#define TUI_QUIT (-3) /* a signal or the terminal asks to end */

/* The looks of the screen, mapped to colours or, without, to attributes. */
enum tui_attr {
	TUI_A_NORMAL,
	TUI_A_TITLE, /* the title line */
	TUI_A_HELP, /* the help line of keys */
	TUI_A_HEADING, /* a panel's heading, a table's header */
	TUI_A_SELECTED, /* the selected row or field */
	TUI_A_OK, /* running, healthy, verified */
	TUI_A_WARN, /* a threshold near, a state in between */
	TUI_A_BAD, /* failed, refused, critical */
	TUI_A_DIM, /* stopped, absent, a hint */
	TUI_A_BAR, /* the filled part of a bar */
	TUI_A_BANNER, /* a pushed notice */
	TUI_A_FIELD, /* an input field */
	TUI_A_COUNT,
};

/* The characters lines and bars are drawn with. */
enum tui_glyphs {
	TUI_GLYPHS_UTF8, /* box drawing and block characters */
	TUI_GLYPHS_ACS, /* the terminal's line drawing set (vt100) */
	TUI_GLYPHS_ASCII, /* + - | # only */
};

struct tui;
struct tui_view;

/* What a view does; every member but draw may be NULL. */
struct tui_view_ops {
	const char *name;
	/*
	 * Draws the view into win (the body; erased before), whose size is
	 * the body's: getmaxyx(win, rows, cols).
	 */
	void (*draw)(struct tui *t, struct tui_view *v, WINDOW *win);
	/*
	 * A key (a curses key code or a character, UTF-8 bytes one by one
	 * for text fields).  Returns 1 when it was the view's, 0 to let the
	 * loop have it (Esc pops the view, F1 help, F10 quit, ...).
	 */
	int (*key)(struct tui *t, struct tui_view *v, int ch);
	/* The refresh interval passed, or cmld came back: ask it again. */
	void (*tick)(struct tui *t, struct tui_view *v);
	/* A descriptor the view waits on while on top (-1: none)... */
	int (*fd)(struct tui *t, struct tui_view *v);
	/* ... which is readable (or hung up). */
	void (*readable)(struct tui *t, struct tui_view *v);
	/* Releases v->data (the view itself is freed by the stack). */
	void (*free)(struct tui_view *v);
	/* The keys shown on the help line: "Enter open  s start  Esc back". */
	const char *help;
};

struct tui_view {
	const struct tui_view_ops *ops;
	struct tui_view *below;
	char *title; /* shown on the title line after the device's name */
	void *data;
	int dirty; /* draw again at the next chance */
};

/* The dashboard's last picture of the device (dash.c keeps it). */
struct tui_sample {
	double cpu; /* share of one CPU, 0..n */
	long long memory; /* bytes */
};

/* All of cmltui's state; one per process. */
struct tui {
	const char *socket_path;
	struct client cl; /* calls to cmld */
	struct client notice; /* the audit trail's notices followed; fd -1 */
	int reachable; /* the last call reached cmld */
	long long lost_at; /* when cmld was lost (monotonic ms); 0: not */
	long long retry_at; /* when to try again (monotonic ms) */
	int reconnected; /* cmld came back: views ask again */

	/* looks */
	int color; /* colours are used */
	enum tui_glyphs glyphs;
	attr_t attr[TUI_A_COUNT];
	int rows, cols; /* the terminal's size */
	WINDOW *body; /* the lines between the title and the help line */

	/* views */
	struct tui_view *top;
	int interval_ms; /* refresh interval */
	long long next_tick; /* monotonic ms */

	/* the banner of the last pushed notice; NULL: none */
	char *banner;
	int banner_bad; /* critical (integrity, trail full) or a warning */
	long long banner_until; /* monotonic ms */

	/* the idle lock (CR 2.5) */
	long long idle_timeout; /* seconds; 0: never */
	long long last_key; /* monotonic ms */
	int locked;
	/* over SSH: an idle session ends rather than locks (CR 2.6) */
	int remote;
	int idle_ended; /* it did */
	uid_t uid; /* who runs cmltui */
	char *user; /* and that user's name */

	/* the device, as the dashboard last saw it (for the title line) */
	char *device_name;

	/* for tests: the pam service (--pam-service is not offered) */
	const char *pam_service;

	volatile sig_atomic_t *signalled;
	int quit;
};

/* cmltui.c: the loop, the connection and the view stack */

/* Runs the dashboard and what is opened from it until quit; exit status. */
int tui_run(struct tui *t);

/* Returns monotonic milliseconds. */
long long tui_now_ms(void);
/* Pushes a view (taking v, with v->title allocated or NULL) on top. */
void tui_push(struct tui *t, struct tui_view *v);
/* Allocates a view with ops and data, titled (copied; NULL: none). */
struct tui_view *tui_view_new(const struct tui_view_ops *ops, void *data,
    const char *title);
/* Pops and frees the view on top (the dashboard is never popped). */
void tui_pop(struct tui *t);
/* Draws the whole screen now (title, body of the top view, help, banner). */
void tui_redraw(struct tui *t);
/*
 * Waits for a key for at most timeout_ms (-1: until the next tick) while
 * keeping the notices read, the idle lock and the resize: returns the key,
 * TUI_TICK when the wait ended without one (redraw live data), or
 * TUI_QUIT.  Modal dialogs read their keys with it.
 */
int tui_getch(struct tui *t, int timeout_ms);
/*
 * Calls cmld: the command with words (cmd_find_words) and params (taken
 * over; NULL: none).  Streamed replies are merged (arrays appended); the
 * reply's parameters go to *reply (NULL allowed).  Returns 0; 1 when cmld
 * answered with an error, its message in *error (as cmlsh says it, without
 * "cmlsh: "); -1 when cmld could not be reached (*error says so).  Free
 * *error.  A lost cmld is noted for the title line and the reconnect.
 */
int tui_call(struct tui *t, const char *words, struct json_object *params,
    struct json_object **reply, char **error);
/*
 * The same for a command of the table with callbacks for each reply and
 * the progress (client_call's), for streams and long calls; the screen is
 * not redrawn meanwhile unless the callbacks do.  Returns client_call's
 * result, with an error's message in *error for 1 and -1 (free it).
 */
int tui_call_ops(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params, int more, const struct client_reply_ops *ops,
    char **error);
/* Formats an error reply as cmlsh would say it (free it). */
char *tui_error_text(const char *error, struct json_object *params);
/*
 * Leaves curses for a command that needs the terminal (exec, console) and
 * comes back: tui_suspend, run it, tui_resume.
 */
void tui_suspend(struct tui *t);
void tui_resume(struct tui *t);

/* draw.c: looks, lines, bars, text */

/* Sets up colours or attributes (NO_COLOR, --no-color, a monochrome term). */
void tui_looks_init(struct tui *t, int no_color);
/* Draws a box around win (the glyphs in force), titled when title != NULL. */
void tui_box(struct tui *t, WINDOW *win, const char *title);
/* A horizontal line of n cells at y, x. */
void tui_hline(struct tui *t, WINDOW *win, int y, int x, int n);
/*
 * Prints UTF-8 text at y, x clipped to n columns (control characters
 * shown escaped, never sent to the terminal); returns the columns used.
 */
int tui_print(WINDOW *win, int y, int x, int n, const char *text);
/* As tui_print, in attribute a. */
int tui_print_attr(struct tui *t, WINDOW *win, int y, int x, int n,
    enum tui_attr a, const char *text);
/* A bar of width cells filled by fraction (0..1), e.g. [#####     ]. */
void tui_bar(struct tui *t, WINDOW *win, int y, int x, int width,
    double fraction);
/* A sparkline of n samples (0..max) in n cells, the newest at the right. */
void tui_sparkline(struct tui *t, WINDOW *win, int y, int x,
    const double *samples, int n, double max);
/* The attribute a state word is shown in ("running" OK, "failed" BAD, ...). */
enum tui_attr tui_state_attr(const char *state);
/* Human figures: "1.5 GiB", "3d 4h", "12%" into buf (returns buf). */
char *tui_bytes(char *buf, size_t size, long long bytes);
char *tui_duration(char *buf, size_t size, long long seconds);

/* view.c: a scrollable text (a command's output, help) */

/* Member key of o (NULL allowed) as a string or an integer, else def. */
const char *tui_str(struct json_object *o, const char *key, const char *def);
long long tui_int(struct json_object *o, const char *key, long long def);

/*
 * Pushes a read-only view of text (copied) titled title: arrows, PgUp,
 * PgDn, Home, End scroll it, '/' searches, Esc goes back.
 */
void tui_text_push(struct tui *t, const char *title, const char *text);
/*
 * Returns the text cmlsh prints for a successful reply of method (the
 * same table columns, the same key-value lines); free it.
 */
char *tui_format_reply(const char *method, struct json_object *params);
/*
 * Modal dialogs.  tui_message shows text until a key; tui_confirm asks a
 * yes/no question (Enter on the selected answer, y or n), no by default;
 * tui_ask_secret asks for a PIN or PUK without echo (a '*' per character
 * is not shown either: nothing tells its length), returns 0 with *out (free
 * with secret_free) or -1 when cancelled (Esc).  note, when not NULL, is a
 * line shown above the field (the tries left).
 */
void tui_message(struct tui *t, const char *title, const char *text);
int tui_confirm(struct tui *t, const char *title, const char *question);
int tui_ask_secret(struct tui *t, const char *title, const char *prompt,
    const char *note, char **out);
/*
 * Asks for one line of text (echoed) in a dialog, prefilled with init;
 * returns 0 with *out (free it), -1 when cancelled.
 */
int tui_ask_text(struct tui *t, const char *title, const char *prompt,
    const char *init, char **out);
/*
 * Lets the operator pick one of n choices in a dialog (a list, arrows and
 * Enter); returns its index, -1 when cancelled.
 */
int tui_pick(struct tui *t, const char *title, const char *const *choices,
    size_t n);

/* dash.c: the dashboard, the first view */
void tui_dash_push(struct tui *t);

/* menu.c: families -> commands -> form, all from the command table */

/* Pushes the menu of families (F2, m). */
void tui_menu_push(struct tui *t);
/*
 * Says whether the menus offer cmd (every command of cmld's table that a
 * person runs: a unit test checks that each has its entry).
 */
int tui_menu_offers(const struct cmd_entry *cmd);

/* form.c: a command's form, built from its argument specs */

/*
 * Pushes the form of cmd, its fields prefilled from params (borrowed;
 * NULL: empty): Tab and arrows move, Enter on a field with a completion
 * list opens it, F5/Ctrl-R runs; each value is checked as cmlsh checks
 * the command line, the table's message shown at the field.  A
 * destructive command asks first; secrets are asked for in dialogs.  The
 * reply is shown as cmlsh shows it.
 */
void tui_form_push(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params);
/*
 * Runs cmd with params (taken over) as a form's Run does: confirmation,
 * secrets (on demand too), the call with progress, the reply shown in a
 * text view or the error in a message; guided flows take over the
 * commands that have one (tui_flow_for).  Returns 0 when it succeeded.
 */
int tui_run_command(struct tui *t, const struct cmd_entry *cmd,
    struct json_object *params);
/*
 * The live values an argument completes with (container names, guest
 * OSes, ...), asked of cmld; params holds the form's other values (a
 * guest OS's versions need its name).  Returns a NULL-ended array (free
 * with tui_strings_free), NULL when there is no list.
 */
char **tui_completions(struct tui *t, const struct cmd_entry *cmd,
    const struct cmd_arg *arg, struct json_object *params);
void tui_strings_free(char **list);

/* flows.c: the guided flows, drawn by hand */

/*
 * Returns the flow that takes over cmd when run from a menu or a form
 * (container start, token change-pin and unblock, guestos install,
 * audit list and follow, container logs and console), or NULL.  The flow
 * gets the form's params (borrowed).
 */
typedef void (*tui_flow_fn)(struct tui *t, struct json_object *params);
tui_flow_fn tui_flow_for(const struct cmd_entry *cmd);
/* Starts container name, asking for its PIN when its storage needs it. */
void tui_flow_start(struct tui *t, const char *name);
/* Stops container name (after confirmation). */
void tui_flow_stop(struct tui *t, const char *name);
/* Changes the PIN of container name's token, or unblocks it with the PUK. */
void tui_flow_change_pin(struct tui *t, const char *name);
void tui_flow_unblock(struct tui *t, const char *name);
/* Installs a guest OS from a directory, with a progress bar and verdict. */
void tui_flow_guestos_install(struct tui *t, const char *dir);
/* The audit review: filters, details, acknowledge, follow live, verify. */
void tui_audit_push(struct tui *t);
/* A container's details, its network and its live log; its console. */
void tui_container_push(struct tui *t, const char *name);

/* flow-update.c: updates from signed bundles */

/* Pushes the state of the updates: slots, floors, signers, installs (u). */
void tui_update_push(struct tui *t);
/*
 * Pushes what the bundle at path holds and whether it would install;
 * with install set, asks at once to install it (an administrator).
 */
void tui_update_bundle_push(struct tui *t, const char *path, int install);

/* flow-provision.c: the factory provisioning, its steps as screens */

/* Pushes the provisioning screen (p on the dashboard). */
void tui_provision_push(struct tui *t);
/*
 * Returns the dashboard's line about the provisioning (free it) when the
 * device (device status's reply) is in state factory and needs it now (a
 * step begun, or no container yet: containers is how many there are),
 * or NULL.
 */
char *tui_provision_line(struct tui *t, struct json_object *device,
    int containers);

/* lock.c: the idle lock (CR 2.5) */

/*
 * Says whether cmltui runs with the role cmld gives administrators (root,
 * or the group cml-admin among its groups), so that a flow does not ask
 * to confirm what cmld would refuse.
 */
int tui_admin(void);
/* Reads session_idle_timeout from cmld (the setting cmlsh uses). */
void tui_lock_setting(struct tui *t);
/*
 * Locks the screen now: nothing of the device shows until a user who may
 * (the session's owner, or an administrator) gives a name and password
 * that PAM accepts.  Returns when unlocked; 0, or -1 when the session
 * ends instead (a signal; over SSH, session_idle_timeout without a key).
 */
int tui_lock(struct tui *t);
/*
 * Ends a remote session that was idle too long (CR 2.6): the screen is
 * cleared and cmld records the end; the caller quits.
 */
void tui_idle_end(struct tui *t);

/*
 * menu.c and form.c, for each other and for their unit test
 * (tests/unit/test_tuimenu.c): what the menus list, built the way they
 * build it.
 */

/* The families the first menu lists, in its order; NULL-ended (free it). */
const char **tui_menu_families(void);
/* The commands a family's menu lists, in its order; NULL-ended (free it). */
const struct cmd_entry **tui_menu_commands(const char *family);
/* Pushes the menu of a family's commands. */
void tui_menu_push_family(struct tui *t, const char *family);
/*
 * The arguments cmd's form has a field for, in its order; NULL-ended
 * (free it).  Secrets are asked for when it runs, and --pin-stdin is the
 * shell's.
 */
const struct cmd_arg **tui_form_args(const struct cmd_entry *cmd);
/* Returns cmd's help as cmlsh's help shows it, width columns wide. */
char *tui_menu_help(const struct cmd_entry *cmd, size_t width);
/*
 * Draws text in rows x cols at y, x of win, lines too long broken, from
 * line *top on (kept in range; NULL: the first), the first line in
 * attribute first and the others in rest; a last line says when there
 * is more.
 */
void tui_menu_draw_text(struct tui *t, WINDOW *win, int y, int x, int rows,
    int cols, const char *text, int *top, enum tui_attr first,
    enum tui_attr rest);

#endif
