/*
 * cmltui's options, its terminal and its signals.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <langinfo.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <panel.h>

#include "client.h"
#include "cmltui.h"
#include "secret.h"
#include "xmalloc.h"

static volatile sig_atomic_t tui_signalled;

static void
tui_on_signal(int sig)
{
	tui_signalled = sig;
}

static void
tui_usage(FILE *f)
{
	fprintf(f, "usage: cmltui [--socket PATH] [--interval MS] "
	    "[--no-color] [--ascii]\n");
}

static void
tui_long_help(void)
{
	tui_usage(stdout);
	printf("\nThe console of a cml appliance: a dashboard of the stages, "
	    "the containers\nand the audit trail, menus of every command, "
	    "and guided flows.\n\n"
	    "  --socket PATH   cmld's control socket (default %s)\n"
	    "  --interval MS   how often the dashboard asks cmld (default "
	    "%d, 200..60000)\n"
	    "  --no-color      no colours (also NO_COLOR, or a monochrome "
	    "terminal)\n"
	    "  --ascii         draw lines and bars with ASCII characters\n"
	    "  --help          print this help and exit\n"
	    "  --version       print the version and exit\n\n"
	    "Exit status: 0 quit, 1 failed (no terminal, cmld refused), "
	    "2 usage error.\n", TUI_DEFAULT_SOCKET, TUI_REFRESH_MS);
}

/* Chooses the glyphs the terminal can show. */
static enum tui_glyphs
tui_choose_glyphs(int ascii)
{
	const char *term = getenv("TERM"), *acsc;

	if (ascii)
		return TUI_GLYPHS_ASCII;
	if (strcmp(nl_langinfo(CODESET), "UTF-8") == 0 && term != NULL &&
	    strncmp(term, "vt1", 3) != 0 && strncmp(term, "vt2", 3) != 0 &&
	    strcmp(term, "dumb") != 0)
		return TUI_GLYPHS_UTF8;
	acsc = tigetstr("acsc");
	if (acsc != NULL && acsc != (char *)-1 && *acsc != '\0')
		return TUI_GLYPHS_ACS;
	return TUI_GLYPHS_ASCII;
}

/* Who runs cmltui, for the title line and the lock. */
static void
tui_whoami(struct tui *t)
{
	struct passwd *pw;

	t->uid = getuid();
	if ((pw = getpwuid(t->uid)) != NULL)
		t->user = xstrdup(pw->pw_name);
	else
		t->user = xasprintf("%lu", (unsigned long)t->uid);
}

/* Says whether environment variable name is set and not empty. */
static int
tui_env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0';
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "no-color", no_argument, NULL, 'n' },
		{ "ascii", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct tui t;
	struct sigaction sa;
	char *end;
	long ms;
	int ch, no_color = 0, ascii = 0, status;

	memset(&t, 0, sizeof t);
	t.socket_path = TUI_DEFAULT_SOCKET;
	t.interval_ms = TUI_REFRESH_MS;
	t.pam_service = "cmltui";
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			t.socket_path = optarg;
			break;
		case 'i':
			errno = 0;
			ms = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || ms < 200 ||
			    ms > 60000) {
				fprintf(stderr, "cmltui: --interval: %s: not "
				    "a number of milliseconds in 200..60000\n",
				    optarg);
				return TUI_EXIT_USAGE;
			}
			t.interval_ms = (int)ms;
			break;
		case 'n':
			no_color = 1;
			break;
		case 'a':
			ascii = 1;
			break;
		case 'h':
			tui_long_help();
			return TUI_EXIT_OK;
		case 'V':
			printf("cmltui %s\n", PACKAGE_VERSION);
			return TUI_EXIT_OK;
		default:
			fprintf(stderr, "cmltui: %s: unknown option\n",
			    argv[optind - 1]);
			tui_usage(stderr);
			return TUI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cmltui: %s: no arguments are taken\n",
		    argv[optind]);
		tui_usage(stderr);
		return TUI_EXIT_USAGE;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "cmltui: needs a terminal (use cmlsh for "
		    "scripts)\n");
		return TUI_EXIT_FAILED;
	}
	/* https://no-color.org: present and not empty */
	if (tui_env_set("NO_COLOR"))
		no_color = 1;

	setlocale(LC_ALL, "");
	secret_stdin_init();
	tui_whoami(&t);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tui_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	t.signalled = &tui_signalled;
	client_init(&t.cl, t.socket_path, &tui_signalled);
	client_init(&t.notice, t.socket_path, NULL);
	/*
	 * A session over SSH ends when idle (CR 2.6); one on the console
	 * locks (CR 2.5).
	 */
	t.remote = tui_env_set("SSH_CONNECTION") || tui_env_set("SSH_TTY");

	if (initscr() == NULL) {
		fprintf(stderr, "cmltui: the terminal cannot be used\n");
		return TUI_EXIT_FAILED;
	}
	raw(); /* Ctrl-C is a key here, not the end */
	noecho();
	keypad(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	t.glyphs = tui_choose_glyphs(ascii);
	tui_looks_init(&t, no_color);

	status = tui_run(&t);

	endwin();
	if (tui_signalled != 0)
		status = TUI_EXIT_FAILED;
	if (t.idle_ended) {
		fprintf(stderr, "cmltui: session ended after %lld s idle "
		    "(session_idle_timeout)\n", t.idle_timeout);
		status = TUI_EXIT_FAILED;
	}
	free(t.user);
	free(t.device_name);
	free(t.banner);
	return status;
}
