/*
 * The idle lock (CR 2.5): after session_idle_timeout seconds without a key,
 * or on the operator's word, the screen shows nothing of the device but
 * its name and the session's owner, and stays so until a user who may
 * (the owner, root or a member of cmld's administrators' group) gives a
 * name and a password that PAM accepts (service t->pam_service).
 *
 * The password is never echoed, nothing tells its length, and it is wiped
 * once PAM has it.  PAM talks through a conversation that draws in the
 * lock screen, never on the terminal itself.  A failed authentication
 * says one thing whatever failed (CR 1.10); an authenticated user without
 * the right is told so.  Each failure costs a wait that grows, and the
 * keys typed during it are dropped.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <panel.h>
#include <security/pam_appl.h>

#include "cmltui.h"
#include "complete.h"
#include "xmalloc.h"

/* The group whose members are cmld's administrators (its admin_group). */
#define TUI_LOCK_ADMIN_GROUP "cml-admin"
/* The wait after the first failure, doubled after each until the cap. */
#define TUI_LOCK_DELAY_MS 2000
#define TUI_LOCK_DELAY_MAX_MS 30000
/* What the fields hold, in bytes (a user name is at most 32 on Linux). */
#define TUI_LOCK_USER_MAX 64
#define TUI_LOCK_SECRET_MAX 256
/* The cells of a field, and of the box in which the screen is drawn. */
#define TUI_LOCK_FIELD_COLS 32
#define TUI_LOCK_BOX_COLS 66
#define TUI_LOCK_BOX_ROWS 15
/* The lines of PAM's messages kept for the screen. */
#define TUI_LOCK_NOTES 2

/* One field of the lock screen. */
struct tui_lock_field {
	char buf[TUI_LOCK_SECRET_MAX];
	size_t max; /* bytes it takes, below sizeof buf */
	size_t len;
	int echo;
};

enum tui_lock_fieldno {
	TUI_LOCK_USER,
	TUI_LOCK_PASSWORD,
	TUI_LOCK_ANSWER, /* a further question of a PAM module */
	TUI_LOCK_FIELDS,
};

/* The lock screen's state while locked. */
struct tui_lock {
	struct tui *t;
	WINDOW *win; /* the whole screen, above every panel */
	PANEL *panel;
	int resized; /* the terminal changed size meanwhile */

	long long idle; /* seconds idle when locked; 0: the lock key */
	struct tui_lock_field field[TUI_LOCK_FIELDS];
	enum tui_lock_fieldno focus;
	const char *question; /* a PAM module's question; NULL: none */

	char status[256]; /* the outcome of the last try */
	int status_bad;
	char notes[TUI_LOCK_NOTES][256]; /* what PAM said during the try */
	int failures; /* in a row */
	long long last_key; /* monotonic ms: a remote session ends when idle */
	long long wait_until; /* monotonic ms; 0: no wait */

	/* during a try */
	int password_given; /* the password went to PAM's first question */
	long long pam_delay_ms; /* the longest wait a module asked for */
	int ended; /* a signal or a hang-up: the session ends */
};

int
tui_admin(void)
{
	struct group *gr;
	gid_t *groups;
	int n, i, admin = 0;

	/* cmld sees the effective ids and the groups, as SO_PEERCRED does */
	if (geteuid() == 0)
		return 1;
	if ((gr = getgrnam(TUI_LOCK_ADMIN_GROUP)) == NULL)
		return 0;
	if (getegid() == gr->gr_gid)
		return 1;
	if ((n = getgroups(0, NULL)) <= 0)
		return 0;
	groups = xreallocarray(NULL, (size_t)n, sizeof *groups);
	n = getgroups(n, groups);
	for (i = 0; i < n && !admin; i++)
		admin = groups[i] == gr->gr_gid;
	free(groups);
	return admin;
}

void
tui_lock_setting(struct tui *t)
{
	struct json_object *params, *reply = NULL;

	params = json_object_new_object();
	json_object_object_add(
	    params, "key", json_object_new_string("session_idle_timeout"));
	if (tui_call(t, "device config get", params, &reply, NULL) != 0)
		reply = NULL;
	t->idle_timeout = client_idle_timeout(reply);
	json_object_put(reply);
}

/* Empties a field, wiping what it held. */
static void
tui_lock_clear(struct tui_lock_field *f)
{
	xwipe(f->buf, sizeof f->buf);
	f->len = 0;
}

/* Says what the last try came to (printf-like; bad: in the alarm looks). */
static void __attribute__((format(printf, 3, 4)))
tui_lock_say(struct tui_lock *l, int bad, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->status, sizeof l->status, fmt, ap);
	va_end(ap);
	l->status_bad = bad;
}

/* Keeps a message of PAM's for the screen (the last TUI_LOCK_NOTES). */
static void
tui_lock_note(struct tui_lock *l, const char *msg)
{
	int i;

	if (msg == NULL || *msg == '\0')
		return;
	for (i = 0; i < TUI_LOCK_NOTES; i++) {
		if (l->notes[i][0] == '\0')
			break;
	}
	if (i == TUI_LOCK_NOTES) {
		for (i = 1; i < TUI_LOCK_NOTES; i++)
			memcpy(
			    l->notes[i - 1], l->notes[i], sizeof l->notes[i]);
		i = TUI_LOCK_NOTES - 1;
	}
	snprintf(l->notes[i], sizeof l->notes[i], "%s", msg);
}

/* Draws a field's label and its cells; a hidden one never shows its text. */
static void
tui_lock_draw_field(struct tui_lock *l, int y, int x, int cols,
    const char *label, enum tui_lock_fieldno n)
{
	struct tui *t = l->t;
	const struct tui_lock_field *f = &l->field[n];
	int focused = l->focus == n, lw = 10, fw;

	if (cols < lw + 4)
		return;
	tui_print(l->win, y, x, 2, focused ? ">" : " ");
	tui_print_attr(t, l->win, y, x + 2, lw,
	    focused ? TUI_A_SELECTED : TUI_A_NORMAL, label);
	fw = cols - lw - 2;
	if (fw > TUI_LOCK_FIELD_COLS)
		fw = TUI_LOCK_FIELD_COLS;
	wattron(l->win, t->attr[TUI_A_FIELD]);
	mvwhline(l->win, y, x + 2 + lw, ' ', fw);
	if (f->echo)
		tui_print(l->win, y, x + 2 + lw, fw, f->buf);
	wattroff(l->win, t->attr[TUI_A_FIELD]);
}

/* Draws the lock screen: nothing of the device but its name. */
static void
tui_lock_draw(struct tui_lock *l)
{
	struct tui *t = l->t;
	WINDOW *box;
	char line[512];
	int rows, cols, w, h, y, x, iw, i, left;

	getmaxyx(stdscr, rows, cols);
	if (getmaxy(l->win) != rows || getmaxx(l->win) != cols)
		wresize(l->win, rows, cols);
	werase(l->win);
	w = cols < TUI_LOCK_BOX_COLS ? cols : TUI_LOCK_BOX_COLS;
	h = rows < TUI_LOCK_BOX_ROWS ? rows : TUI_LOCK_BOX_ROWS;
	y = (rows - h) / 2;
	x = (cols - w) / 2;
	if ((box = derwin(l->win, h, w, y, x)) != NULL) {
		tui_box(t, box, "locked");
		delwin(box);
	}
	x += 3;
	iw = w - 6;

	if (l->idle > 0)
		snprintf(
		    line, sizeof line, "cmltui locked (idle %lld s)", l->idle);
	else
		snprintf(line, sizeof line, "cmltui locked by the operator");
	tui_print_attr(t, l->win, y + 2, x, iw, TUI_A_HEADING, line);
	/* the name on the device's label: which console this is */
	if (t->device_name != NULL && *t->device_name != '\0') {
		snprintf(line, sizeof line, "device %s", t->device_name);
		tui_print(l->win, y + 3, x, iw, line);
	}
	snprintf(line, sizeof line, "session of %s",
	    t->user != NULL ? t->user : "?");
	tui_print(l->win, y + 4, x, iw, line);

	if (l->question != NULL) {
		tui_print(l->win, y + 6, x, iw, l->question);
		tui_lock_draw_field(l, y + 7, x, iw, "", TUI_LOCK_ANSWER);
	} else {
		tui_lock_draw_field(l, y + 6, x, iw, "User:", TUI_LOCK_USER);
		tui_lock_draw_field(
		    l, y + 7, x, iw, "Password:", TUI_LOCK_PASSWORD);
	}

	if (l->wait_until != 0) {
		left = (int)((l->wait_until - tui_now_ms() + 999) / 1000);
		snprintf(line, sizeof line, "%s (wait %d s)", l->status,
		    left > 0 ? left : 0);
	} else
		snprintf(line, sizeof line, "%s", l->status);
	tui_print_attr(t, l->win, y + 9, x, iw,
	    l->status_bad ? TUI_A_BAD : TUI_A_NORMAL, line);
	for (i = 0; i < TUI_LOCK_NOTES; i++)
		tui_print(l->win, y + 10 + i, x, iw, l->notes[i]);

	if (l->wait_until != 0)
		snprintf(line, sizeof line, "keys are ignored meanwhile");
	else if (l->question != NULL)
		snprintf(line, sizeof line, "Enter answer  Esc cancel");
	else
		snprintf(line, sizeof line,
		    "Enter next, unlock  Tab field  "
		    "Ctrl-U clear");
	tui_print_attr(t, l->win, y + h - 2, x, iw, TUI_A_DIM, line);

	update_panels();
	doupdate();
}

/*
 * Waits for a key until deadline (monotonic ms; -1: none) and returns it,
 * ERR when the deadline passed first, TUI_QUIT for a signal or a terminal
 * gone.  A resize is drawn here.
 */
static int
tui_lock_key(struct tui_lock *l, long long deadline)
{
	struct pollfd pfd;
	long long now;
	int ch, wait;

	struct tui *t = l->t;
	long long idle_at;

	for (;;) {
		if (t->signalled != NULL && *t->signalled)
			return TUI_QUIT;
		nodelay(l->win, TRUE);
		ch = wgetch(l->win);
		nodelay(l->win, FALSE);
		if (ch == KEY_RESIZE) {
			l->resized = 1;
			clearok(curscr, TRUE);
			tui_lock_draw(l);
			continue;
		}
		now = tui_now_ms();
		if (ch != ERR) {
			l->last_key = now;
			return ch;
		}
		/* locked or not, a remote session ends when idle (CR 2.6) */
		idle_at = t->remote && t->idle_timeout > 0 ?
		    l->last_key + t->idle_timeout * 1000 : -1;
		if (idle_at >= 0 && now >= idle_at) {
			tui_idle_end(t);
			return TUI_QUIT;
		}
		if (deadline >= 0 && now >= deadline)
			return ERR;
		/* a signal between the check and poll waits a second at most */
		wait = 1000;
		if (deadline >= 0 && deadline - now < wait)
			wait = (int)(deadline - now);
		if (idle_at >= 0 && idle_at - now < wait)
			wait = (int)(idle_at - now);
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, wait) == -1 && errno != EINTR)
			return TUI_QUIT;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			return TUI_QUIT;
	}
}

/*
 * Lets the keys edit the fields until Enter on the last: returns 0, -1
 * when Esc cancels a module's question, TUI_QUIT when the session ends.
 */
static int
tui_lock_edit(struct tui_lock *l)
{
	struct tui_lock_field *f;
	int ch;

	for (;;) {
		tui_lock_draw(l);
		if ((ch = tui_lock_key(l, -1)) == TUI_QUIT)
			return TUI_QUIT;
		f = &l->field[l->focus];
		if (TUI_IS_ENTER(ch)) {
			if (l->question != NULL)
				return 0;
			if (l->field[TUI_LOCK_USER].len == 0)
				l->focus = TUI_LOCK_USER;
			else if (l->focus == TUI_LOCK_USER)
				l->focus = TUI_LOCK_PASSWORD;
			else
				return 0;
			continue;
		}
		switch (ch) {
		case TUI_KEY_TAB:
		case KEY_BTAB:
			if (l->question == NULL)
				l->focus = l->focus == TUI_LOCK_USER
				    ? TUI_LOCK_PASSWORD
				    : TUI_LOCK_USER;
			break;
		case KEY_UP:
			if (l->question == NULL)
				l->focus = TUI_LOCK_USER;
			break;
		case KEY_DOWN:
			if (l->question == NULL)
				l->focus = TUI_LOCK_PASSWORD;
			break;
		case TUI_KEY_ESC:
			if (l->question != NULL)
				return -1;
			tui_lock_clear(&l->field[TUI_LOCK_PASSWORD]);
			break;
		case KEY_BACKSPACE:
		case KEY_DC:
		case 0x7f:
		case TUI_CTRL('h'):
			/* a whole UTF-8 character */
			while (f->len > 0 &&
			    ((unsigned char)f->buf[f->len - 1] & 0xc0) == 0x80)
				f->buf[--f->len] = '\0';
			if (f->len > 0)
				f->buf[--f->len] = '\0';
			break;
		case TUI_CTRL('u'):
			tui_lock_clear(f);
			break;
		case TUI_CTRL('l'):
			clearok(curscr, TRUE);
			break;
		default:
			/* text, UTF-8 bytes one by one, no controls */
			if (ch >= 0x20 && ch <= 0xff && ch != 0x7f &&
			    f->len < f->max)
				f->buf[f->len++] = (char)ch;
			break;
		}
	}
}

/*
 * Asks a PAM module's further question in the lock screen (echoed or
 * not); returns 0 with *out (PAM frees it), -1 when cancelled or ended.
 */
static int
tui_lock_ask(struct tui_lock *l, const char *question, int echo, char **out)
{
	struct tui_lock_field *f = &l->field[TUI_LOCK_ANSWER];
	enum tui_lock_fieldno focus = l->focus;
	int rc;

	*out = NULL;
	tui_lock_clear(f);
	f->echo = echo;
	l->question =
	    question != NULL && *question != '\0' ? question : "Answer:";
	l->focus = TUI_LOCK_ANSWER;
	rc = tui_lock_edit(l);
	if (rc == 0)
		*out = xstrdup(f->buf);
	else if (rc == TUI_QUIT)
		l->ended = 1;
	tui_lock_clear(f);
	l->question = NULL;
	l->focus = focus;
	tui_lock_draw(l);
	return rc == 0 ? 0 : -1;
}

/* Wipes and frees the answers of a conversation. */
static void
tui_lock_answers_free(struct pam_response *r, int n)
{
	int i;

	for (i = 0; i < n; i++)
		xfree_secret(r[i].resp);
	free(r);
}

/*
 * PAM's conversation: its first hidden question gets the password typed,
 * further questions are asked in the lock screen, its messages are kept
 * for it.  Nothing goes to the terminal but through curses.
 */
static int
tui_lock_conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct tui_lock *l = arg;
	struct pam_response *r;
	int i;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = xcalloc((size_t)n, sizeof *r);
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			if (!l->password_given) {
				r[i].resp =
				    xstrdup(l->field[TUI_LOCK_PASSWORD].buf);
				l->password_given = 1;
			} else if (tui_lock_ask(
				       l, msg[i]->msg, 0, &r[i].resp) == -1)
				goto fail;
			break;
		case PAM_PROMPT_ECHO_ON:
			if (tui_lock_ask(l, msg[i]->msg, 1, &r[i].resp) == -1)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			tui_lock_note(l, msg[i]->msg);
			break;
		default:
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;

fail:
	tui_lock_answers_free(r, n);
	return PAM_CONV_ERR;
}

/*
 * Keeps the wait a module asks for after a failure (pam_faildelay,
 * pam_unix) instead of sleeping in PAM: the lock screen waits itself.
 */
static void
tui_lock_pam_delay(int retval, unsigned usec, void *arg)
{
	struct tui_lock *l = arg;

	if (retval != PAM_SUCCESS && (long long)usec / 1000 > l->pam_delay_ms)
		l->pam_delay_ms = (long long)usec / 1000;
}

/*
 * Says whether user may unlock t's session: its owner, root, or a member
 * of the administrators' group (as cmld gives the admin role).
 */
static int
tui_lock_may(const struct tui *t, const char *user)
{
	struct passwd *pw;
	struct group *gr;
	gid_t admin, gid, *groups = NULL;
	int n = 64, want, i, may = 0;

	if ((pw = getpwnam(user)) == NULL)
		return 0;
	if (pw->pw_uid == t->uid || pw->pw_uid == 0)
		return 1;
	gid = pw->pw_gid;
	if ((gr = getgrnam(TUI_LOCK_ADMIN_GROUP)) == NULL)
		return 0;
	admin = gr->gr_gid;
	if (gid == admin)
		return 1;
	/* too small the first time, it says how many there are */
	for (i = 0; i < 2; i++) {
		groups = xreallocarray(groups, (size_t)n, sizeof *groups);
		want = n;
		if (getgrouplist(user, gid, groups, &want) != -1)
			break;
		if (want <= n)
			break;
		n = want;
	}
	for (i = 0; i < want && want <= n && !may; i++)
		may = groups[i] == admin;
	free(groups);
	return may;
}

/* What a try came to. */
#define TUI_LOCK_UNLOCKED 0
#define TUI_LOCK_FAILED 1 /* not authenticated */
#define TUI_LOCK_REFUSED 2 /* authenticated, without the right */
#define TUI_LOCK_ENDED (-1) /* the session ends */

/*
 * Tries the name and password in the fields with PAM: returns one of
 * TUI_LOCK_UNLOCKED, _FAILED, _REFUSED (l->status says so) or _ENDED.
 */
static int
tui_lock_try(struct tui_lock *l)
{
	struct tui *t = l->t;
	struct pam_conv conv = { tui_lock_conv, l };
	pam_handle_t *pamh = NULL;
	const void *item;
	const char *tty;
	char *user;
	int rc, i;

	for (i = 0; i < TUI_LOCK_NOTES; i++)
		l->notes[i][0] = '\0';
	l->password_given = 0;
	l->pam_delay_ms = 0;
	tui_lock_say(l, 0, "checking ...");
	tui_lock_draw(l);

	rc = pam_start(
	    t->pam_service, l->field[TUI_LOCK_USER].buf, &conv, &pamh);
	if (rc != PAM_SUCCESS) {
		tui_lock_note(l, "PAM cannot be started");
		tui_lock_say(l, 1, "unlock failed");
		return TUI_LOCK_FAILED;
	}
	(void)pam_set_item(
	    pamh, PAM_FAIL_DELAY, (const void *)tui_lock_pam_delay);
	if (t->user != NULL)
		(void)pam_set_item(pamh, PAM_RUSER, t->user);
	if ((tty = ttyname(STDIN_FILENO)) != NULL)
		(void)pam_set_item(pamh, PAM_TTY, tty);
	rc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	/* the name PAM authenticated, which a module may have mapped */
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS || item == NULL)
		item = l->field[TUI_LOCK_USER].buf;
	user = xstrdup(item);
	pam_end(pamh, rc);

	if (l->ended || (t->signalled != NULL && *t->signalled))
		rc = TUI_LOCK_ENDED;
	else if (rc != PAM_SUCCESS) {
		/* the same words whatever failed (CR 1.10) */
		tui_lock_say(l, 1, "unlock failed");
		rc = TUI_LOCK_FAILED;
	} else if (!tui_lock_may(t, user)) {
		tui_lock_say(l, 1, "%s may not unlock this session", user);
		rc = TUI_LOCK_REFUSED;
	} else
		rc = TUI_LOCK_UNLOCKED;
	/*
	 * cmld records it (CR 2.5, 2.8); a name only when it is an account:
	 * a password typed into the name field is never sent.
	 */
	if (rc == TUI_LOCK_UNLOCKED)
		(void)client_session_report(&t->cl, "unlocked", user, -1);
	else if (rc == TUI_LOCK_REFUSED || rc == TUI_LOCK_FAILED)
		(void)client_session_report(&t->cl, "unlock-failed",
		    getpwnam(user) != NULL ? user : NULL, -1);
	free(user);
	return rc;
}

/*
 * Waits after a failure, longer after each in a row, dropping the keys
 * typed meanwhile.  Returns 0, or -1 when the session ends.
 */
static int
tui_lock_wait(struct tui_lock *l)
{
	long long ms = TUI_LOCK_DELAY_MS, now, next;
	int i, ch;

	for (i = 1; i < l->failures && ms < TUI_LOCK_DELAY_MAX_MS; i++)
		ms *= 2;
	if (ms > TUI_LOCK_DELAY_MAX_MS)
		ms = TUI_LOCK_DELAY_MAX_MS;
	if (l->pam_delay_ms > ms)
		ms = l->pam_delay_ms;
	l->wait_until = tui_now_ms() + ms;
	for (;;) {
		tui_lock_draw(l);
		now = tui_now_ms();
		if (now >= l->wait_until)
			break;
		/* the next whole second, for the countdown */
		next = now + 1000 - (l->wait_until - now) % 1000;
		if (next > l->wait_until)
			next = l->wait_until;
		while ((ch = tui_lock_key(l, next)) != ERR) {
			if (ch == TUI_QUIT)
				return -1;
		}
	}
	l->wait_until = 0;
	flushinp();
	return 0;
}

int
tui_lock(struct tui *t)
{
	struct tui_lock *l;
	long long now = tui_now_ms();
	int rc;

	l = xcalloc(1, sizeof *l);
	l->t = t;
	l->last_key = now;
	if (t->idle_timeout > 0 && now - t->last_key >= t->idle_timeout * 1000)
		l->idle = t->idle_timeout;
	l->field[TUI_LOCK_USER].max = TUI_LOCK_USER_MAX;
	l->field[TUI_LOCK_USER].echo = 1;
	l->field[TUI_LOCK_PASSWORD].max = TUI_LOCK_SECRET_MAX - 1;
	l->field[TUI_LOCK_ANSWER].max = TUI_LOCK_SECRET_MAX - 1;
	/* the owner unlocks most often: the name is there, Ctrl-U clears */
	if (t->user != NULL && strlen(t->user) <= TUI_LOCK_USER_MAX) {
		snprintf(l->field[TUI_LOCK_USER].buf, TUI_LOCK_USER_MAX + 1,
		    "%s", t->user);
		l->field[TUI_LOCK_USER].len = strlen(t->user);
		l->focus = TUI_LOCK_PASSWORD;
	}

	t->locked = 1;
	l->win = newwin(0, 0, 0, 0);
	l->panel = new_panel(l->win);
	keypad(l->win, TRUE);
	leaveok(l->win, TRUE);
	/* whatever the terminal showed is painted over in full */
	clearok(curscr, TRUE);
	flushinp();
	/* locked on the screen first, then recorded (cmld may hang) */
	tui_lock_draw(l);
	(void)client_session_report(&t->cl, "locked", NULL, l->idle);

	for (;;) {
		if ((rc = tui_lock_edit(l)) == TUI_QUIT) {
			rc = -1;
			break;
		}
		if (rc != 0)
			continue;
		rc = tui_lock_try(l);
		tui_lock_clear(&l->field[TUI_LOCK_PASSWORD]);
		if (rc == TUI_LOCK_UNLOCKED || rc == TUI_LOCK_ENDED)
			break;
		l->failures++;
		/* refused: someone else must come; failed: type it again */
		l->focus =
		    rc == TUI_LOCK_REFUSED ? TUI_LOCK_USER : TUI_LOCK_PASSWORD;
		if (tui_lock_wait(l) == -1) {
			rc = -1;
			break;
		}
	}

	/* what was typed while PAM checked is not the dashboard's */
	flushinp();
	del_panel(l->panel);
	delwin(l->win);
	/* the loop lays the screen out anew for the size it has now */
	if (l->resized)
		ungetch(KEY_RESIZE);
	xwipe(l, sizeof *l);
	free(l);
	t->locked = 0;
	t->last_key = tui_now_ms();
	return rc;
}
