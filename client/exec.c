/*
 * The caller's side of container exec and console (exec.h): what cmld
 * passed is pumped here, never through cmld, so cmld only hands
 * descriptors over and a caller that stops reading holds up its own
 * command.  With a pseudo-terminal the caller's terminal is raw, so that
 * every key (Ctrl-C included) reaches the line discipline inside, which
 * turns it into the signal; its size follows the caller's (SIGWINCH, then
 * TIOCSWINSZ on the passed master: the kernel tells the command).  Without
 * one, Ctrl-C is passed on as a signal through the signal pipe.
 */
#include "config.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "exec.h"
#include "xmalloc.h"

/* The signals the pump takes while it runs. */
static const int exec_signals[] = {
	SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGWINCH,
};
#define EXEC_NSIGNALS (sizeof exec_signals / sizeof exec_signals[0])

/* Set by the handler, read by the pump (no other state is global). */
static volatile sig_atomic_t exec_sig;
static volatile sig_atomic_t exec_winch;

static void
exec_on_signal(int sig)
{
	if (sig == SIGWINCH)
		exec_winch = 1;
	else
		exec_sig = sig;
}

/* Returns the caller's terminal size, from stdin or stdout; -1 if none. */
static int
exec_winsize(struct winsize *ws)
{
	memset(ws, 0, sizeof *ws);
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, ws) == -1 &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, ws) == -1)
		return -1;
	return ws->ws_row > 0 && ws->ws_col > 0 ? 0 : -1;
}

/* Returns a boolean parameter; absent is false. */
static int
exec_flag(struct json_object *params, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(params, name, &v) &&
	    json_object_get_boolean(v);
}

void
exec_prepare(const struct cmd_entry *cmd, struct json_object *params,
    int stdin_free)
{
	struct winsize ws;
	int tty;

	if (cmd->id != CMD_ID_CONTAINER_EXEC &&
	    cmd->id != CMD_ID_CONTAINER_CONSOLE)
		return;
	tty = cmd->id == CMD_ID_CONTAINER_CONSOLE || exec_flag(params, "tty");
	if (tty && exec_winsize(&ws) == 0 &&
	    !json_object_object_get_ex(params, "rows", NULL) &&
	    !json_object_object_get_ex(params, "cols", NULL)) {
		json_object_object_add(params, "rows",
		    json_object_new_int(ws.ws_row));
		json_object_object_add(params, "cols",
		    json_object_new_int(ws.ws_col));
	}
	if (cmd->id != CMD_ID_CONTAINER_EXEC || tty)
		return;
	json_object_object_add(params, "signals", json_object_new_boolean(1));
	if (stdin_free && !isatty(STDIN_FILENO) &&
	    !exec_flag(params, "interactive"))
		json_object_object_add(params, "interactive",
		    json_object_new_boolean(1));
}

/* Returns the descriptor a reply's member names, -1 if absent, -2 if bad. */
static int
exec_fd(struct json_object *params, const char *name, const int *fds,
    size_t nfds)
{
	struct json_object *v;
	int i;

	if (!json_object_object_get_ex(params, name, &v))
		return -1;
	if (!json_object_is_type(v, json_type_int))
		return -2;
	i = json_object_get_int(v);
	return i >= 0 && (size_t)i < nfds ? fds[i] : -2;
}

/* Writes all of buf to fd (a blocking one); -1 with errno set. */
static int
exec_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			(void)poll(&p, 1, -1);
			continue;
		}
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The pump's state. */
struct exec_pump {
	int tty; /* out[0] is a pty master: also where input goes */
	int console; /* a console: input detaches on EXEC_DETACH */
	int out[2]; /* read: stdout (or the pty, a console's output), stderr */
	int in; /* where stdin goes; -1: nowhere */
	int sig; /* the signal pipe; -1 */
	int resize; /* the master whose size follows the caller's; -1 */
	int raw; /* the caller's terminal is raw: restore saved */
	struct termios saved;
	char buf[4096]; /* stdin not yet written to in */
	size_t len, off;
	int stdin_open;
};

/* Gives the pty the caller's size. */
static void
exec_resize(struct exec_pump *p)
{
	struct winsize ws;

	if (p->resize != -1 && exec_winsize(&ws) == 0)
		(void)ioctl(p->resize, TIOCSWINSZ, &ws);
}

/*
 * Handles a signal: with a pty, Ctrl-C from outside is the terminal's
 * interrupt character; without, signals go through the signal pipe.
 * Returns -1 when the pump is to end.
 */
static int
exec_signal(struct exec_pump *p, int sig, char **cause)
{
	unsigned char b = (unsigned char)sig;

	if (p->tty && !p->console && sig == SIGINT) {
		b = p->raw ? p->saved.c_cc[VINTR] : 3;
		(void)write(p->in != -1 ? p->in : p->out[0], &b, 1);
		return 0;
	}
	if (p->sig != -1 && write(p->sig, &b, 1) == 1 &&
	    (sig == SIGINT || sig == SIGQUIT))
		return 0;
	*cause = xstrdup(p->console ? "detached from the console" :
	    "interrupted: the command may still run in the container");
	return -1;
}

/* Runs the pump until the output ended; -1 with *cause set. */
static int
exec_pump_run(struct exec_pump *p, const sigset_t *mask, char **cause)
{
	struct pollfd pfd[4];
	char buf[65536];
	ssize_t n;
	size_t i;
	int sig, open;

	for (;;) {
		open = 0;
		for (i = 0; i < 2; i++) {
			pfd[i].fd = p->out[i];
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			if (p->out[i] != -1)
				open++;
		}
		if (open == 0)
			return 0;
		pfd[2].fd = p->stdin_open && p->len == 0 && p->in != -1 ?
		    STDIN_FILENO : -1;
		pfd[2].events = POLLIN;
		pfd[2].revents = 0;
		pfd[3].fd = p->len > 0 ? p->in : -1;
		pfd[3].events = POLLOUT;
		pfd[3].revents = 0;
		if (ppoll(pfd, 4, NULL, mask) == -1) {
			if (errno != EINTR) {
				*cause = xasprintf("cannot wait for output: %s",
				    strerror(errno));
				return -1;
			}
			if (exec_winch) {
				exec_winch = 0;
				exec_resize(p);
			}
			if ((sig = exec_sig) != 0) {
				exec_sig = 0;
				if (exec_signal(p, sig, cause) == -1)
					return -1;
			}
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof buf);
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				/* a pty master reads EIO once the command
				 * and all it started closed the slave */
				p->out[i] = -1;
				continue;
			}
			if (exec_write_all(i == 0 ? STDOUT_FILENO :
			    STDERR_FILENO, buf, (size_t)n) == -1) {
				*cause = errno == EPIPE ? NULL :
				    xasprintf("cannot write the output: %s",
				    strerror(errno));
				return -1;
			}
		}
		if (pfd[2].fd != -1 && pfd[2].revents != 0) {
			n = read(STDIN_FILENO, p->buf, sizeof p->buf);
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				p->stdin_open = 0;
				/* the command's stdin ends with the caller's */
				if (!p->tty) {
					close(p->in);
					p->in = -1;
				}
				continue;
			}
			if (p->console && memchr(p->buf, EXEC_DETACH,
			    (size_t)n) != NULL) {
				*cause = NULL;
				return 1;
			}
			p->len = (size_t)n;
			p->off = 0;
		}
		if (p->len > 0) {
			n = write(p->in, p->buf + p->off, p->len);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				/* the command closed its stdin: drop the rest */
				p->len = 0;
				p->stdin_open = 0;
				continue;
			}
			p->off += (size_t)n;
			p->len -= (size_t)n;
		}
	}
}

int
exec_attach(struct json_object *params, const int *fds, size_t nfds,
    char **cause)
{
	struct exec_pump p;
	struct sigaction sa, old[EXEC_NSIGNALS];
	struct termios raw;
	sigset_t block, saved, wait;
	size_t i;
	int rc, a, b, c, d;

	memset(&p, 0, sizeof p);
	p.out[0] = p.out[1] = p.in = p.sig = p.resize = -1;
	if ((a = exec_fd(params, "tty", fds, nfds)) != -1) {
		p.tty = 1;
		p.out[0] = p.in = p.resize = a;
		p.sig = exec_fd(params, "signal", fds, nfds);
	} else if ((a = exec_fd(params, "output", fds, nfds)) != -1) {
		p.tty = p.console = 1;
		p.out[0] = a;
		p.in = p.resize = exec_fd(params, "input", fds, nfds);
	} else if ((a = exec_fd(params, "stdout", fds, nfds)) != -1) {
		b = exec_fd(params, "stderr", fds, nfds);
		c = exec_fd(params, "stdin", fds, nfds);
		d = exec_fd(params, "signal", fds, nfds);
		if (b < 0 || c == -2 || d == -2)
			a = -2;
		p.out[0] = a;
		p.out[1] = b;
		p.in = c;
		p.sig = d;
	} else
		return 0;
	if (a < 0 || p.in == -2 || p.sig == -2 || p.resize == -2) {
		*cause = xstrdup("cmld passed no descriptors for the "
		    "command's input and output with its first reply");
		rc = -1;
		goto close;
	}
	p.stdin_open = 1;
	if (p.in != -1)
		(void)fcntl(p.in, F_SETFL, fcntl(p.in, F_GETFL) | O_NONBLOCK);

	/* The signals come only while waiting, so none is lost. */
	sigemptyset(&block);
	for (i = 0; i < EXEC_NSIGNALS; i++)
		sigaddset(&block, exec_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &saved);
	wait = saved;
	for (i = 0; i < EXEC_NSIGNALS; i++)
		sigdelset(&wait, exec_signals[i]);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = exec_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < EXEC_NSIGNALS; i++)
		sigaction(exec_signals[i], &sa, &old[i]);
	exec_sig = exec_winch = 0;

	if (p.tty && isatty(STDIN_FILENO) &&
	    tcgetattr(STDIN_FILENO, &p.saved) == 0) {
		raw = p.saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0)
			p.raw = 1;
	}
	exec_resize(&p);
	rc = exec_pump_run(&p, &wait, cause);
	if (rc == 1) {
		/* detached: say so on a line of its own */
		rc = 0;
		if (p.raw)
			(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &p.saved);
		p.raw = 0;
		(void)exec_write_all(STDERR_FILENO, "\r\n", 2);
	}
	if (p.raw)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &p.saved);
	for (i = 0; i < EXEC_NSIGNALS; i++)
		sigaction(exec_signals[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &saved, NULL);
close:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return rc == -1 ? -1 : 1;
}

/* Returns the value of a base64 digit, -1 for any other byte. */
static int
exec_b64(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
exec_log(struct json_object *params, char **cause)
{
	struct json_object *v;
	const unsigned char *s;
	unsigned char *out;
	size_t i, n = 0, len;
	unsigned int acc = 0;
	int bits = 0, d, rc = 1;

	if (json_object_object_get_ex(params, "lost", &v))
		dprintf(STDERR_FILENO, "cmlsh: %lld bytes of the log were "
		    "lost: the log keeps the last 64 KiB\n",
		    (long long)json_object_get_int64(v));
	if (!json_object_object_get_ex(params, "log", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		if (!json_object_object_get_ex(params, "end", &v))
			return 0;
		if (isatty(STDERR_FILENO))
			dprintf(STDERR_FILENO, "[%s]\r\n",
			    json_object_get_string(v));
		return 1;
	}
	s = (const unsigned char *)json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	out = xmalloc(len / 4 * 3 + 3);
	for (i = 0; i < len && s[i] != '='; i++) {
		if ((d = exec_b64(s[i])) == -1) {
			*cause = xstrdup("cmld sent a log that is not base64");
			free(out);
			return -1;
		}
		acc = acc << 6 | (unsigned int)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* a console ends its lines with "\r\n"; a log file with "\n" */
	for (i = 0, len = 0; i < n; i++)
		if (!(out[i] == '\r' && i + 1 < n && out[i + 1] == '\n'))
			out[len++] = out[i];
	if (exec_write_all(STDOUT_FILENO, (char *)out, len) == -1) {
		*cause = errno == EPIPE ? NULL : xasprintf("cannot write the "
		    "output: %s", strerror(errno));
		rc = -1;
	}
	free(out);
	if (rc == 1 && json_object_object_get_ex(params, "end", &v) &&
	    isatty(STDERR_FILENO))
		dprintf(STDERR_FILENO, "[%s]\n", json_object_get_string(v));
	return rc;
}

int
exec_output(struct json_object *params, const int *fds, size_t nfds,
    int *exit_status, char **cause)
{
	struct json_object *v;
	int rc;

	/* the pipes, pty or console cmld passed: pumped here */
	if ((rc = exec_attach(params, fds, nfds, cause)) != 0)
		return rc;
	/* what init printed (container logs), and the end of a stream */
	if ((rc = exec_log(params, cause)) != 0)
		return rc;
	if (json_object_object_get_ex(params, "exit_status", &v) &&
	    json_object_is_type(v, json_type_int)) {
		*exit_status = json_object_get_int(v);
		return 1;
	}
	return 0;
}
