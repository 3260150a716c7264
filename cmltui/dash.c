/*
 * The dashboard, cmltui's first view: the device (name, identity,
 * provisioning, the stages and their health), the audit trail against its
 * capacity thresholds, every container with its state, uptime, CPU and
 * memory (a sparkline and a bar each), and the guest OSes.  The
 * containers' figures are asked for at every refresh (container stats,
 * one call); the rest, which changes seldom and costs the stages a
 * question each, every DASH_SLOW_MS.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmltui.h"
#include "xmalloc.h"

/*
 * The device, the trail and the guest OSes are asked this often (ms): the
 * stages' health and the rest change seldom, and each of these calls
 * costs cmld more than the containers' figures (device status asks tpm2d
 * and scd); a notice of the trail comes at once anyway, and r asks now.
 */
#define DASH_SLOW_MS 10000
/* The longest wait for one of its calls (cmld waits 5 s for a stage). */
#define DASH_CALL_TIMEOUT_MS 8000

/* What the dashboard keeps of one container between refreshes. */
struct dash_ctr {
	char *name;
	long long cpu_usec; /* the last figure; -1: none */
	long long at_ms; /* when it came */
	double cpu[TUI_HISTORY]; /* share of one CPU, oldest first */
	int seen; /* in the last reply */
};

struct dash {
	struct json_object *status; /* device status */
	char *status_error;
	struct json_object *stats; /* container stats (or list) */
	char *stats_error;
	struct json_object *guestos; /* guestos list */
	struct json_object *audit; /* audit status */
	char *prov_line; /* the provisioning a factory device needs; NULL */
	int prov_offered; /* its screen was shown first, or not needed */
	long long slow_at; /* when to ask for the device and the rest again */
	int selected;
	int scroll;
	struct dash_ctr *ctrs;
	size_t nctrs;
};

/* Returns the array member key of o, or NULL. */
static struct json_object *
dash_array(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_array))
		return v;
	return NULL;
}

/* Finds (or adds) what is kept of container name. */
static struct dash_ctr *
dash_ctr(struct dash *d, const char *name)
{
	struct dash_ctr *c;
	size_t i;

	for (i = 0; i < d->nctrs; i++)
		if (strcmp(d->ctrs[i].name, name) == 0)
			return &d->ctrs[i];
	d->ctrs = xreallocarray(d->ctrs, d->nctrs + 1, sizeof *d->ctrs);
	c = &d->ctrs[d->nctrs++];
	memset(c, 0, sizeof *c);
	c->name = xstrdup(name);
	c->cpu_usec = -1;
	return c;
}

/* Keeps each container's CPU share since the last refresh. */
static void
dash_sample(struct dash *d)
{
	struct json_object *list = dash_array(d->stats, "containers"), *o;
	struct dash_ctr *c;
	long long now = tui_now_ms(), usec;
	size_t i, n;

	for (i = 0; i < d->nctrs; i++)
		d->ctrs[i].seen = 0;
	n = list != NULL ? json_object_array_length(list) : 0;
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(list, i);
		c = dash_ctr(d, tui_str(o, "name", "?"));
		c->seen = 1;
		usec = tui_int(o, "cpu_usec", -1);
		memmove(c->cpu, c->cpu + 1, sizeof c->cpu - sizeof c->cpu[0]);
		if (usec >= 0 && c->cpu_usec >= 0 && usec >= c->cpu_usec &&
		    now > c->at_ms)
			c->cpu[TUI_HISTORY - 1] = (double)(usec -
			    c->cpu_usec) / 1000.0 / (double)(now - c->at_ms);
		else
			c->cpu[TUI_HISTORY - 1] = 0;
		c->cpu_usec = usec;
		c->at_ms = now;
	}
	/* those gone are forgotten */
	for (i = 0; i < d->nctrs;) {
		if (d->ctrs[i].seen) {
			i++;
			continue;
		}
		free(d->ctrs[i].name);
		d->ctrs[i] = d->ctrs[--d->nctrs];
	}
}

/* Replaces *slot by what a call gave (NULL when it failed). */
static void
dash_keep(struct json_object **slot, struct json_object *reply)
{
	json_object_put(*slot);
	*slot = reply;
}

/*
 * The dashboard's refresh: its calls wait at most DASH_CALL_TIMEOUT_MS
 * (more than cmld waits for a stage), so that a cmld that hangs holds
 * neither the console nor its idle lock up: cmld counts as unreachable
 * then, and is asked again every second.
 */
static void dash_refresh(struct tui *, struct tui_view *);

static void
dash_tick(struct tui *t, struct tui_view *v)
{
	long long timeout = t->cl.timeout_ms;

	t->cl.timeout_ms = DASH_CALL_TIMEOUT_MS;
	dash_refresh(t, v);
	t->cl.timeout_ms = timeout;
}

static void
dash_refresh(struct tui *t, struct tui_view *v)
{
	struct dash *d = v->data;
	struct json_object *r;
	char *err = NULL;
	int rc, slow;

	slow = tui_now_ms() >= d->slow_at || t->reconnected ||
	    d->status == NULL;
	rc = tui_call(t, "container stats", NULL, &r, &err);
	dash_keep(&d->stats, rc == 0 ? r : NULL);
	free(d->stats_error);
	d->stats_error = err;
	dash_sample(d);
	if (!t->reachable)
		return;
	if (slow) {
		d->slow_at = tui_now_ms() + DASH_SLOW_MS;
		err = NULL;
		rc = tui_call(t, "device status", NULL, &r, &err);
		dash_keep(&d->status, rc == 0 ? r : NULL);
		free(d->status_error);
		d->status_error = err;
		if (d->status != NULL) {
			free(t->device_name);
			t->device_name = xstrdup(tui_str(d->status, "name",
			    ""));
		}
		rc = tui_call(t, "guestos list", NULL, &r, NULL);
		dash_keep(&d->guestos, rc == 0 ? r : NULL);
		rc = tui_call(t, "audit status", NULL, &r, NULL);
		dash_keep(&d->audit, rc == 0 ? r : NULL);
		r = dash_array(d->stats, "containers");
		free(d->prov_line);
		d->prov_line = d->status == NULL ? NULL : tui_provision_line(t,
		    d->status, r != NULL ? (int)json_object_array_length(r) :
		    -1);
	}
	v->dirty = 1;
	/* a factory device that needs it: the provisioning first, once */
	if (d->status != NULL && !d->prov_offered) {
		d->prov_offered = 1;
		if (d->prov_line != NULL)
			tui_provision_push(t);
	}
}

/* Prints "LABEL" in the heading look, returns the column after it. */
static int
dash_label(struct tui *t, WINDOW *win, int y, const char *label)
{
	tui_print_attr(t, win, y, 1, 11, TUI_A_HEADING, label);
	return 12;
}

/* Prints word in the look its state asks for; returns the next column. */
static int
dash_state(struct tui *t, WINDOW *win, int y, int x, int n, const char *word)
{
	return x + tui_print_attr(t, win, y, x, n, tui_state_attr(word), word);
}

/* The device: name, identity, provisioning, the stages. */
static int
dash_device(struct tui *t, struct dash *d, WINDOW *win, int y, int cols)
{
	struct json_object *s = d->status, *stages, *v;
	char buf[512], up[32];
	const char *stage_names[] = { "tpm2d", "scd", "cmld" };
	const char *st;
	size_t i;
	int x;

	x = dash_label(t, win, y, "Device");
	if (s == NULL) {
		tui_print_attr(t, win, y, x, cols - x, TUI_A_BAD,
		    d->status_error != NULL ? d->status_error :
		    "no answer from cmld");
		return y + 3;
	}
	snprintf(buf, sizeof buf, "%s  uuid %s  cml %s  up %s",
	    tui_str(s, "name", "?"), tui_str(s, "uuid", "?"),
	    tui_str(s, "version", "?"),
	    tui_duration(up, sizeof up, tui_int(s, "uptime_seconds", -1)));
	tui_print(win, y, x, cols - x, buf);
	y++;

	x = dash_label(t, win, y, "Stages");
	stages = json_object_object_get_ex(s, "stages", &v) ? v : NULL;
	for (i = 0; i < 3; i++) {
		st = tui_str(stages, stage_names[i], "absent");
		x += tui_print(win, y, x, cols - x, stage_names[i]);
		x += tui_print(win, y, x, cols - x, " ");
		x = dash_state(t, win, y, x, cols - x,
		    strcmp(st, "up") == 0 ? "ready" : st) + 3;
	}
	x += tui_print(win, y, x, cols - x, "provisioning ");
	dash_state(t, win, y, x, cols - x, tui_str(s, "provisioning", "?"));
	y++;

	x = dash_label(t, win, y, "Identity");
	if (json_object_object_get_ex(s, "tpm", &v) &&
	    json_object_is_type(v, json_type_object))
		snprintf(buf, sizeof buf, "certificate %s%s%s  TPM system "
		    "key %s", tui_str(s, "certificate", "none"),
		    tui_str(s, "certificate_not_after", NULL) != NULL ?
		    " until " : "", tui_str(s, "certificate_not_after", ""),
		    tui_str(v, "system_key", "?"));
	else
		snprintf(buf, sizeof buf, "certificate %s  TPM %s",
		    tui_str(s, "certificate", "none"),
		    tui_str(s, "tpm_error", "absent"));
	tui_print(win, y, x, cols - x, buf);
	return y + 1;
}

/* The audit trail against its capacity and thresholds. */
static int
dash_audit(struct tui *t, struct dash *d, WINDOW *win, int y, int cols)
{
	struct json_object *a = d->audit;
	long long bytes, cap, warn, crit, unack;
	char buf[256], b1[32], b2[32];
	int x, bw;

	x = dash_label(t, win, y, "Audit");
	if (a == NULL) {
		tui_print_attr(t, win, y, x, cols - x, TUI_A_DIM,
		    "not known");
		return y + 1;
	}
	bytes = tui_int(a, "bytes", 0);
	cap = tui_int(a, "capacity", 0);
	warn = tui_int(a, "warning_at", 0);
	crit = tui_int(a, "critical_at", 0);
	unack = tui_int(a, "unacknowledged", 0);
	bw = cols >= 100 ? 20 : 10;
	x += tui_print(win, y, x, cols - x, "[");
	tui_bar(t, win, y, x, bw, cap > 0 ? (double)bytes / (double)cap : 0);
	x += bw;
	snprintf(buf, sizeof buf, "] %s of %s  ",
	    tui_bytes(b1, sizeof b1, bytes), tui_bytes(b2, sizeof b2, cap));
	x += tui_print(win, y, x, cols - x, buf);
	x = dash_state(t, win, y, x, cols - x, tui_str(a, "level", "?"));
	snprintf(buf, sizeof buf, "  %lld records  %lld unacknowledged  "
	    "warn %lld%% crit %lld%%", tui_int(a, "records", 0), unack,
	    cap > 0 ? warn * 100 / cap : 0, cap > 0 ? crit * 100 / cap : 0);
	tui_print_attr(t, win, y, x, cols - x, unack > 0 ? TUI_A_WARN :
	    TUI_A_NORMAL, buf);
	return y + 1;
}

/* The containers' table's columns, for the width there is. */
struct dash_cols {
	int name, state, guestos, uptime, cpu, spark, mem, bar;
};

static void
dash_columns(int cols, struct json_object *list, struct dash_cols *c)
{
	size_t i, n = list != NULL ? json_object_array_length(list) : 0, w;
	int longest = 4, fixed, avail;

	c->state = 9;
	c->uptime = 8;
	c->cpu = 5;
	c->mem = 9;
	if (cols >= 120) {
		c->spark = 24;
		c->bar = 16;
	} else if (cols >= 100) {
		c->spark = 16;
		c->bar = 10;
	} else {
		c->spark = 8;
		c->bar = 6;
	}
	for (i = 0; i < n; i++) {
		w = format_width(tui_str(json_object_array_get_idx(list, i),
		    "name", ""));
		if ((int)w > longest)
			longest = (int)w;
	}
	/* the names as long as they are, the guest OS the rest */
	fixed = 1 + c->state + 1 + 1 + c->uptime + 1 + c->cpu + c->spark + 1 +
	    c->mem + c->bar;
	avail = cols - 1 - fixed;
	if (longest > 32)
		longest = 32;
	if (longest > avail - 14)
		longest = avail - 14;
	c->name = longest;
	c->guestos = avail - c->name - 1;
	if (c->guestos > 30)
		c->guestos = 30;
}

/* One container's line. */
static void
dash_ctr_line(struct tui *t, struct dash *d, WINDOW *win, int y,
    const struct dash_cols *c, struct json_object *o, int selected)
{
	const char *name = tui_str(o, "name", "?");
	const char *state = tui_str(o, "state", "?");
	struct dash_ctr *k = dash_ctr(d, name);
	long long mem = tui_int(o, "memory_bytes", -1);
	long long limit = tui_int(o, "memory_limit", -1);
	long long up = tui_int(o, "uptime_seconds", -1);
	char buf[256];
	int x = 1, running = strcmp(state, "running") == 0 ||
	    strcmp(state, "frozen") == 0;

	if (selected) {
		wattron(win, t->attr[TUI_A_SELECTED]);
		mvwhline(win, y, 0, ' ', getmaxx(win));
		tui_print(win, y, 0, 1, ">");
		tui_print(win, y, x, c->name, name);
		wattroff(win, t->attr[TUI_A_SELECTED]);
	} else
		tui_print(win, y, x, c->name, name);
	x += c->name + 1;
	dash_state(t, win, y, x, c->state, state);
	x += c->state + 1;
	snprintf(buf, sizeof buf, "%s %s", tui_str(o, "guestos", ""),
	    tui_str(o, "version", ""));
	tui_print(win, y, x, c->guestos, buf);
	x += c->guestos + 1;
	tui_print(win, y, x, c->uptime, running ?
	    tui_duration(buf, sizeof buf, up) : "-");
	x += c->uptime + 1;
	if (running) {
		snprintf(buf, sizeof buf, "%3.0f%%",
		    k->cpu[TUI_HISTORY - 1] * 100);
		tui_print(win, y, x, c->cpu, buf);
		tui_sparkline(t, win, y, x + c->cpu, k->cpu + TUI_HISTORY -
		    c->spark, c->spark, 1.0);
	} else
		tui_print(win, y, x, c->cpu, "   -");
	x += c->cpu + c->spark + 1;
	tui_print(win, y, x, c->mem, mem >= 0 && running ?
	    tui_bytes(buf, sizeof buf, mem) : "-");
	x += c->mem;
	if (running && mem >= 0 && limit > 0)
		tui_bar(t, win, y, x, c->bar, (double)mem / (double)limit);
}

/* The containers, a line each, the selected one marked. */
static int
dash_containers(struct tui *t, struct dash *d, WINDOW *win, int y, int rows,
    int cols)
{
	struct json_object *list = dash_array(d->stats, "containers");
	struct dash_cols c;
	char head[256];
	int n = list != NULL ? (int)json_object_array_length(list) : 0;
	int i, x, shown;

	snprintf(head, sizeof head, "Containers (%d)", n);
	tui_hline(t, win, y, 0, cols);
	tui_print_attr(t, win, y, 2, cols - 4, TUI_A_HEADING, head);
	y++;
	if (list == NULL) {
		tui_print_attr(t, win, y, 1, cols - 2, TUI_A_BAD,
		    d->stats_error != NULL ? d->stats_error :
		    "no answer from cmld");
		return y + 1;
	}
	dash_columns(cols, list, &c);
	wattron(win, t->attr[TUI_A_HEADING]);
	x = 1;
	tui_print(win, y, x, c.name, "NAME");
	x += c.name + 1;
	tui_print(win, y, x, c.state, "STATE");
	x += c.state + 1;
	tui_print(win, y, x, c.guestos, "GUEST OS");
	x += c.guestos + 1;
	tui_print(win, y, x, c.uptime, "UPTIME");
	x += c.uptime + 1;
	tui_print(win, y, x, c.cpu + c.spark, "CPU");
	x += c.cpu + c.spark + 1;
	tui_print(win, y, x, c.mem + c.bar, "MEMORY");
	wattroff(win, t->attr[TUI_A_HEADING]);
	y++;
	if (d->selected >= n)
		d->selected = n > 0 ? n - 1 : 0;
	shown = rows - y;
	if (shown < 1)
		shown = 1;
	if (d->selected < d->scroll)
		d->scroll = d->selected;
	if (d->selected >= d->scroll + shown)
		d->scroll = d->selected - shown + 1;
	for (i = d->scroll; i < n && y < rows; i++, y++)
		dash_ctr_line(t, d, win, y, &c, json_object_array_get_idx(list,
		    i), i == d->selected);
	if (n == 0)
		tui_print_attr(t, win, y++, 1, cols - 2, TUI_A_DIM,
		    "none: create one from the menu (container create)");
	return y;
}

/* The guest OSes, on one line. */
static void
dash_guestos(struct tui *t, struct dash *d, WINDOW *win, int y, int cols)
{
	struct json_object *list = dash_array(d->guestos, "guestos"), *o;
	char buf[1024];
	size_t i, n, len = 0;
	int x;

	x = dash_label(t, win, y, "Guest OSes");
	n = list != NULL ? json_object_array_length(list) : 0;
	buf[0] = '\0';
	for (i = 0; i < n && len < sizeof buf - 1; i++) {
		o = json_object_array_get_idx(list, i);
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s %s",
		    i > 0 ? ", " : "", tui_str(o, "name", "?"),
		    tui_str(o, "version", "?"));
	}
	tui_print_attr(t, win, y, x, cols - x, n == 0 ? TUI_A_DIM :
	    TUI_A_NORMAL, list == NULL ? "not known" : n == 0 ? "none" : buf);
}

static void
dash_draw(struct tui *t, struct tui_view *v, WINDOW *win)
{
	struct dash *d = v->data;
	int rows, cols, y;

	getmaxyx(win, rows, cols);
	y = dash_device(t, d, win, 0, cols);
	if (d->prov_line != NULL) {
		dash_label(t, win, y, "Provision");
		tui_print_attr(t, win, y++, 12, cols - 13, TUI_A_WARN,
		    d->prov_line);
	}
	y = dash_audit(t, d, win, y, cols);
	dash_guestos(t, d, win, y++, cols);
	dash_containers(t, d, win, y, rows, cols);
}

/* The name of the selected container, or NULL. */
static const char *
dash_selected(struct dash *d)
{
	struct json_object *list = dash_array(d->stats, "containers");

	if (list == NULL || d->selected < 0 ||
	    (size_t)d->selected >= json_object_array_length(list))
		return NULL;
	return tui_str(json_object_array_get_idx(list,
	    (size_t)d->selected), "name", NULL);
}

/* The token's flows for the selected container. */
static void
dash_token(struct tui *t, const char *name)
{
	static const char *const choices[] = {
		"Change the PIN of its token",
		"Unblock its token with the PUK",
	};

	switch (tui_pick(t, "Token", choices, 2)) {
	case 0:
		tui_flow_change_pin(t, name);
		break;
	case 1:
		tui_flow_unblock(t, name);
		break;
	}
}

static int
dash_key(struct tui *t, struct tui_view *v, int ch)
{
	struct dash *d = v->data;
	char *name = dash_selected(d) != NULL ? xstrdup(dash_selected(d)) :
	    NULL, *dir;
	int used = 1;

	switch (ch) {
	case KEY_UP:
	case 'k':
		if (d->selected > 0)
			d->selected--;
		break;
	case KEY_DOWN:
	case 'j':
		d->selected++;
		break;
	case KEY_HOME:
		d->selected = 0;
		break;
	case KEY_END:
		d->selected = 1 << 30;
		break;
	case 's':
		if (name != NULL)
			tui_flow_start(t, name);
		break;
	case 'x':
		if (name != NULL)
			tui_flow_stop(t, name);
		break;
	case 't':
		if (name != NULL)
			dash_token(t, name);
		break;
	case 'g':
		if (tui_ask_text(t, "Install a guest OS", "The directory "
		    "of the signed guest OS:", NULL, &dir) == 0) {
			tui_flow_guestos_install(t, dir);
			free(dir);
		}
		break;
	case 'p':
		tui_provision_push(t);
		break;
	case 'u':
		tui_update_push(t);
		break;
	case 'r':
		d->slow_at = 0; /* everything, now */
		dash_tick(t, v);
		break;
	default:
		if (TUI_IS_ENTER(ch) && name != NULL)
			tui_container_push(t, name);
		else
			used = ch == TUI_KEY_ESC; /* nothing below to go to */
	}
	free(name);
	if (used)
		v->dirty = 1;
	return used;
}

static void
dash_free(struct tui_view *v)
{
	struct dash *d = v->data;
	size_t i;

	json_object_put(d->status);
	json_object_put(d->stats);
	json_object_put(d->guestos);
	json_object_put(d->audit);
	free(d->status_error);
	free(d->stats_error);
	free(d->prov_line);
	for (i = 0; i < d->nctrs; i++)
		free(d->ctrs[i].name);
	free(d->ctrs);
	free(d);
}

static const struct tui_view_ops dash_ops = {
	.name = "dashboard",
	.draw = dash_draw,
	.key = dash_key,
	.tick = dash_tick,
	.free = dash_free,
	.help = "Enter open  s start  x stop  t token  g guest OS  a audit",
};

void
tui_dash_push(struct tui *t)
{
	tui_push(t, tui_view_new(&dash_ops, xcalloc(1, sizeof(struct dash)),
	    NULL));
}
