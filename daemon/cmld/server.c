/*
 * The control socket: connections, framing, caller identity, the central
 * policy check, dispatch to the handlers, and auditing of every call.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmld.h"
#include "interfaces.h"
#include "xmalloc.h"

#define SERVER_ADMIN_GROUP "cml-admin"
#define SERVER_OPERATOR_GROUP "cml"
#define SERVER_MAX_GROUPS 256
/* Stop reading from a client while this much output waits for it. */
#define SERVER_OUT_HIGH (4 * PROTO_MAX_MSG)

const struct method_handler method_handlers[] = {
	{ "org.cml.Device.Status", cmd_device_status },
	{ "org.cml.Device.GetConfig", cmd_device_get_config },
	{ "org.cml.Device.SetConfig", cmd_device_set_config },
	{ "org.cml.Audit.List", cmd_audit_list },
	{ "org.varlink.service.GetInfo", cmd_api_get_info },
	{ "org.varlink.service.GetInterfaceDescription",
	    cmd_api_get_interface_description },
	{ "org.cml.Trust.List", cmd_ca_list },
	{ "org.cml.Trust.Add", cmd_ca_add },
	{ "org.cml.Trust.Remove", cmd_ca_remove },
	{ "org.cml.GuestOS.List", cmd_guestos_list },
	{ "org.cml.GuestOS.Install", cmd_guestos_install },
	{ "org.cml.GuestOS.Verify", cmd_guestos_verify },
	{ "org.cml.GuestOS.Remove", cmd_guestos_remove },
	{ "org.cml.Container.List", cmd_container_list },
	{ "org.cml.Container.Show", cmd_container_show },
	{ "org.cml.Container.Config", cmd_container_config },
	{ "org.cml.Container.Create", cmd_container_create },
	{ "org.cml.Container.Remove", cmd_container_remove },
	{ "org.cml.Container.Start", cmd_container_start },
	{ "org.cml.Container.Stop", cmd_container_stop },
	{ "org.cml.Container.Kill", cmd_container_kill },
	{ "org.cml.Container.Freeze", cmd_container_freeze },
	{ "org.cml.Container.Unfreeze", cmd_container_unfreeze },
	{ "org.cml.Container.Exec", cmd_container_exec },
};
const size_t method_handlers_len =
    sizeof method_handlers / sizeof method_handlers[0];

static void server_client_close(struct cmld *, struct client *);
static void server_client_kick(struct cmld *, struct client *);

/*
 * Looks a group up in /etc/group.  The appliance's roles are local groups;
 * reading the file directly keeps NSS modules out of the daemon.  Returns
 * 0 with *gid set, or -1 if there is no such group.
 */
static int
server_group_gid(const char *name, gid_t *gid)
{
	struct group *gr;
	FILE *f;
	int rc = -1;

	if ((f = fopen("/etc/group", "re")) == NULL)
		return -1;
	while ((gr = fgetgrent(f)) != NULL) {
		if (strcmp(gr->gr_name, name) == 0) {
			*gid = gr->gr_gid;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* Returns the handler of method, or NULL. */
static call_handler
server_find_handler(const char *method)
{
	size_t i;

	for (i = 0; i < method_handlers_len; i++)
		if (strcmp(method_handlers[i].method, method) == 0)
			return method_handlers[i].fn;
	return NULL;
}

void
server_check_handlers(void)
{
	size_t i;

	for (i = 0; i < cmd_table_len; i++)
		if (server_find_handler(cmd_table[i].method) == NULL)
			fatalx("command '%s' (%s) has no handler",
			    cmd_table[i].words, cmd_table[i].method);
}

void
server_listen(struct cmld *cmld)
{
	struct sockaddr_un sun;
	gid_t gid;
	mode_t old;
	int fd, probe;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(cmld->sock_path) >= sizeof sun.sun_path)
		fatalx("control socket path %s is too long", cmld->sock_path);
	strncpy(sun.sun_path, cmld->sock_path, sizeof sun.sun_path - 1);

	/* A socket file that accepts belongs to a running cmld. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
	    sizeof sun) == 0)
		fatalx("another cmld is already serving %s", cmld->sock_path);
	if (probe != -1)
		close(probe);
	if (unlink(cmld->sock_path) == -1 && errno != ENOENT)
		fatal("cannot remove stale socket %s", cmld->sock_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		fatal("cannot bind %s", cmld->sock_path);
	umask(old);
	if (server_group_gid(SERVER_OPERATOR_GROUP, &gid) == 0) {
		if (chown(cmld->sock_path, 0, gid) == -1)
			fatal("cannot give %s to group %s", cmld->sock_path,
			    SERVER_OPERATOR_GROUP);
	} else
		log_info("group %s does not exist: only root can use %s",
		    SERVER_OPERATOR_GROUP, cmld->sock_path);
	if (chmod(cmld->sock_path, 0660) == -1)
		fatal("chmod %s", cmld->sock_path);
	if (listen(fd, 128) == -1)
		fatal("listen on %s", cmld->sock_path);
	cmld->lfd = fd;
}

/* Registers or updates a client's epoll interest when it changed. */
static void
server_client_watch(struct cmld *cmld, struct client *c, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof ev);
	ev.data.ptr = c;
	if (!c->closing && proto_writer_pending(&c->wr) < SERVER_OUT_HIGH)
		ev.events |= EPOLLIN;
	if (proto_writer_pending(&c->wr) > 0)
		ev.events |= EPOLLOUT;
	if (op == EPOLL_CTL_MOD && ev.events == c->events)
		return;
	c->events = ev.events;
	if (epoll_ctl(cmld->epfd, op, c->fd, &ev) == -1)
		fatal("epoll_ctl");
}

/* Decides the caller's role from its uid and groups. */
static enum cmld_role
server_role(int fd, const struct ucred *cred)
{
	gid_t groups[SERVER_MAX_GROUPS];
	socklen_t len = sizeof groups;
	gid_t admin = (gid_t)-1, oper = (gid_t)-1;
	size_t i, n = 0;
	int is_oper = 0;

	if (cred->uid == 0)
		return CMLD_ROLE_ADMIN;
	(void)server_group_gid(SERVER_ADMIN_GROUP, &admin);
	(void)server_group_gid(SERVER_OPERATOR_GROUP, &oper);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		n = len / sizeof groups[0];
	else
		log_warn("SO_PEERGROUPS of pid %ld", (long)cred->pid);
	if (cred->gid == admin)
		return CMLD_ROLE_ADMIN;
	if (cred->gid == oper)
		is_oper = 1;
	for (i = 0; i < n; i++) {
		if (groups[i] == admin)
			return CMLD_ROLE_ADMIN;
		if (groups[i] == oper)
			is_oper = 1;
	}
	return is_oper ? CMLD_ROLE_OPERATOR : CMLD_ROLE_NONE;
}

/* Queues a message for c; a reply too large becomes an error. */
static void
server_queue(struct client *c, struct json_object *msg)
{
	struct json_object *err;

	if (proto_writer_queue(&c->wr, msg) == -1) {
		err = proto_error_new(PROTO_ERR_FAILED, NULL,
		    "the reply is larger than %d bytes; ask for less",
		    PROTO_MAX_MSG);
		if (proto_writer_queue(&c->wr, err) == -1)
			fatalx("cannot queue an error reply");
		json_object_put(err);
	}
	json_object_put(msg);
}

/* Refuses a connection with an error and closes it. */
static void
server_refuse(struct cmld *cmld, struct client *c, const char *error,
    const char *msg)
{
	struct json_object *err;

	err = proto_error_new(error, NULL, "%s", msg);
	server_queue(c, err);
	(void)proto_writer_flush(&c->wr, c->fd);
	audit_write(cmld, "session", c, "connect", error, "%s", msg);
	server_client_close(cmld, c);
}

void
server_accept(struct cmld *cmld)
{
	struct ucred cred;
	socklen_t len;
	struct client *c;
	char *msg;
	int fd;

	for (;;) {
		fd = accept4(cmld->lfd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept");
				return;
			}
			if (errno == ECONNABORTED)
				continue;
			fatal("accept");
		}
		len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ==
		    -1) {
			log_warn("SO_PEERCRED");
			close(fd);
			continue;
		}
		c = xcalloc(1, sizeof *c);
		c->tag.kind = EV_CLIENT;
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		proto_reader_init(&c->rd);
		proto_writer_init(&c->wr);
		TAILQ_INSERT_TAIL(&cmld->clients, c, entry);
		cmld->nclients++;
		c->role = server_role(fd, &cred);
		server_client_watch(cmld, c, EPOLL_CTL_ADD);
		log_debug("connection from uid %u pid %ld (%s)",
		    (unsigned)c->uid, (long)c->pid,
		    c->role == CMLD_ROLE_ADMIN ? "admin" :
		    c->role == CMLD_ROLE_OPERATOR ? "operator" : "no role");

		if (c->role == CMLD_ROLE_NONE) {
			msg = xasprintf("permission denied: uid %u is in "
			    "neither group %s nor %s", (unsigned)c->uid,
			    SERVER_OPERATOR_GROUP, SERVER_ADMIN_GROUP);
			server_refuse(cmld, c, PROTO_ERR_PERMISSION_DENIED,
			    msg);
			free(msg);
		} else if ((long long)cmld->nclients > cmld->max_clients) {
			msg = xasprintf("too many connections (max_clients is "
			    "%lld): try again later", cmld->max_clients);
			server_refuse(cmld, c, PROTO_ERR_BUSY, msg);
			free(msg);
		}
	}
}

/* Frees a client and its connection; a deferred call goes on without it. */
static void
server_client_close(struct cmld *cmld, struct client *c)
{
	if (c->pending != NULL)
		c->pending->client = NULL;
	TAILQ_REMOVE(&cmld->clients, c, entry);
	cmld->nclients--;
	(void)epoll_ctl(cmld->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	proto_reader_free(&c->rd);
	proto_writer_free(&c->wr);
	free(c);
}

/* Says whether an error reports a security event even for a read. */
static int
server_error_is_security(const char *error)
{
	return error != NULL && (strcmp(error, PROTO_ERR_INTEGRITY) == 0 ||
	    strcmp(error, PROTO_ERR_INVALID_SIGNATURE) == 0);
}

/* Audits a finished call and frees what the call owns. */
static void
server_call_done(struct call *call, int refused)
{
	struct cmld *cmld = call->cmld;

	if (refused || !(call->cmd->flags & CMD_READONLY) ||
	    cmld->audit_read_calls || server_error_is_security(call->error))
		audit_write_as(cmld, "call", (long long)call->uid,
		    (long long)call->pid, (call->cmd->flags &
		    CMD_NEEDS_CONTAINER) ? json_object_get_string(
		    json_object_object_get(call->params, "name")) : NULL,
		    call->cmd->method,
		    call->error != NULL ? call->error : "ok", "%s",
		    call->details != NULL ? call->details : "");
	free(call->details);
	call->details = NULL;
}

/* Ends a deferred call: audit, free, and let its client go on. */
static void
server_call_finish_deferred(struct call *call)
{
	struct client *c = call->client;

	server_call_done(call, 0);
	json_object_put(call->params);
	if (c != NULL) {
		c->pending = NULL;
		server_client_kick(call->cmld, c);
	}
	free(call);
}

void
call_defer(struct call *call)
{
	if (call->replied || call->deferred)
		fatalx("%s deferred after answering", call->cmd->method);
	call->deferred = 1;
	json_object_get(call->params);
}

void
call_reply(struct call *call, struct json_object *params)
{
	if (call->replied)
		fatalx("%s answered twice", call->cmd->method);
	call->replied = 1;
	if (call->client != NULL)
		server_queue(call->client, proto_reply_new(params, 0));
	else
		json_object_put(params);
	if (call->deferred)
		server_call_finish_deferred(call);
}

void
call_reply_more(struct call *call, struct json_object *params)
{
	if (call->replied)
		fatalx("%s answered after its last reply", call->cmd->method);
	if (!call->more || call->client == NULL) {
		json_object_put(params);
		return;
	}
	server_queue(call->client, proto_reply_new(params, 1));
	if (call->deferred)
		server_client_kick(call->cmld, call->client);
}

void
call_error(struct call *call, const char *error, const char *param,
    const char *fmt, ...)
{
	struct json_object *err;
	va_list ap;
	char *msg;

	if (call->replied)
		fatalx("%s answered twice", call->cmd->method);
	call->replied = 1;
	call->error = error;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	if (call->details == NULL)
		call->details = xstrdup(msg);
	err = proto_error_new(error, param, "%s", msg);
	free(msg);
	if (call->client != NULL)
		server_queue(call->client, err);
	else
		json_object_put(err);
	if (call->deferred)
		server_call_finish_deferred(call);
}

void
call_set_details(struct call *call, const char *fmt, ...)
{
	va_list ap;

	free(call->details);
	va_start(ap, fmt);
	if (vasprintf(&call->details, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
}

/*
 * The one place where policy is checked: role, provisioning state.
 * Returns 0 if the call may run, else answers it and returns -1.
 */
static int
server_check_policy(struct cmld *cmld, struct client *c, struct call *call)
{
	const struct cmd_entry *cmd = call->cmd;
	int provisioned = strcmp(cmld->prov_state, "provisioned") == 0;

	if (c->role != CMLD_ROLE_ADMIN &&
	    ((cmd->flags & CMD_ADMIN) ||
	    !(cmd->flags & (CMD_READONLY | CMD_OPERATOR)))) {
		call_error(call, PROTO_ERR_PERMISSION_DENIED, NULL,
		    "permission denied: '%s' needs the admin role (root or "
		    "group cml-admin)", cmd->words);
		return -1;
	}
	if (!provisioned && !(cmd->flags & CMD_UNPROVISIONED_OK)) {
		call_error(call, PROTO_ERR_NOT_PROVISIONED, NULL,
		    "'%s' needs a provisioned device: run cml-provision "
		    "first", cmd->words);
		return -1;
	}
	if (provisioned && (cmd->flags & CMD_FACTORY_ONLY)) {
		call_error(call, PROTO_ERR_ALREADY_PROVISIONED, NULL,
		    "'%s' is only allowed before provisioning; the device "
		    "is provisioned", cmd->words);
		return -1;
	}
	return 0;
}

/* Runs one call: lookup, parameter and policy checks, handler, audit. */
static void
server_dispatch(struct cmld *cmld, struct client *c, struct json_object *msg)
{
	struct proto_call pc;
	struct call *call;
	call_handler fn;
	const struct cmd_entry *cmd;
	const char *param = NULL;
	char *cause = NULL, *iface;
	int refused = 0;

	if (proto_call_parse(msg, &pc, &cause) == -1) {
		server_queue(c, proto_error_new(PROTO_ERR_PROTOCOL, NULL,
		    "malformed call: %s", cause));
		audit_write(cmld, "session", c, "message", PROTO_ERR_PROTOCOL,
		    "malformed call: %s", cause);
		free(cause);
		c->closing = 1;
		return;
	}

	cmd = cmd_find_method(pc.method);
	fn = cmd != NULL ? server_find_handler(pc.method) : NULL;
	if (cmd == NULL || fn == NULL) {
		struct json_object *err;

		iface = cmd_method_interface(pc.method);
		if (cml_interface_find(iface) == NULL)
			err = proto_error_new(PROTO_ERR_INTERFACE_NOT_FOUND,
			    iface, "no interface '%s'", iface);
		else
			err = proto_error_new(PROTO_ERR_METHOD_NOT_FOUND,
			    pc.method, "no method '%s'", pc.method);
		free(iface);
		if (!pc.oneway)
			server_queue(c, err);
		else
			json_object_put(err);
		log_debug("uid %u called unknown method %s", (unsigned)c->uid,
		    pc.method);
		return;
	}

	call = xcalloc(1, sizeof *call);
	call->cmld = cmld;
	call->client = pc.oneway ? NULL : c;
	call->uid = c->uid;
	call->pid = c->pid;
	call->cmd = cmd;
	call->params = pc.params;
	call->more = pc.more && (cmd->flags & CMD_STREAMS);
	if (cmd_check_params(cmd, pc.params, &param, &cause) == -1) {
		call_error(call, PROTO_ERR_INVALID_PARAMETER, param, "%s",
		    cause);
		free(cause);
		refused = 1;
	} else if (server_check_policy(cmld, c, call) == -1) {
		refused = 1;
	} else {
		fn(call);
		if (call->deferred) {
			/* A job answers it later; the client waits for that. */
			if (call->replied)
				fatalx("%s answered a deferred call in its "
				    "handler", pc.method);
			if (call->client != NULL)
				c->pending = call;
			return;
		}
		if (!call->replied)
			fatalx("%s returned without answering", pc.method);
	}
	server_call_done(call, refused);
	free(call);
}

/*
 * Parses and runs every complete message c has sent; returns 1 if it
 * stopped because too much output waits for the client.
 */
static int
server_client_process(struct cmld *cmld, struct client *c)
{
	struct json_object *msg;
	char *cause = NULL;
	int rc;

	while (!c->closing && c->pending == NULL) {
		if (proto_writer_pending(&c->wr) >= SERVER_OUT_HIGH)
			return 1;
		rc = proto_reader_next(&c->rd, &msg, &cause);
		if (rc == 0)
			break;
		if (rc == -1) {
			server_queue(c, proto_error_new(PROTO_ERR_PROTOCOL,
			    NULL, "malformed message: %s", cause));
			audit_write(cmld, "session", c, "message",
			    PROTO_ERR_PROTOCOL, "malformed message: %s", cause);
			log_info("closing uid %u pid %ld: %s",
			    (unsigned)c->uid, (long)c->pid, cause);
			free(cause);
			c->closing = 1;
			break;
		}
		server_dispatch(cmld, c, msg);
		json_object_put(msg);
	}
	return 0;
}

void
server_client_event(struct cmld *cmld, struct client *c, unsigned int events)
{
	ssize_t n;
	int rc, stalled;

	if (events & EPOLLIN) {
		n = proto_reader_fill(&c->rd, c->fd);
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			if (proto_reader_pending(&c->rd))
				audit_write(cmld, "session", c, "message",
				    PROTO_ERR_PROTOCOL, "connection closed in "
				    "the middle of a message");
			server_client_close(cmld, c);
			return;
		}
	} else if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT)) {
		server_client_close(cmld, c);
		return;
	}

	/* Run what is complete, write, and go on while output drains. */
	for (;;) {
		stalled = server_client_process(cmld, c);
		rc = proto_writer_flush(&c->wr, c->fd);
		if (rc == -1 || (rc == 1 && c->closing)) {
			server_client_close(cmld, c);
			return;
		}
		if (rc == 0 || !stalled)
			break;
	}
	server_client_watch(cmld, c, EPOLL_CTL_MOD);
}

/*
 * Writes what is queued for c outside of its own events (replies of a
 * job), runs its waiting calls once nothing is pending, and updates its
 * epoll interest.
 */
static void
server_client_kick(struct cmld *cmld, struct client *c)
{
	int rc, stalled = 0;

	for (;;) {
		if (c->pending == NULL)
			stalled = server_client_process(cmld, c);
		rc = proto_writer_flush(&c->wr, c->fd);
		if (rc == -1 || (rc == 1 && c->closing)) {
			server_client_close(cmld, c);
			return;
		}
		if (rc == 0 || !stalled)
			break;
	}
	server_client_watch(cmld, c, EPOLL_CTL_MOD);
}

void
server_shutdown(struct cmld *cmld)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&cmld->clients)) != NULL) {
		(void)proto_writer_flush(&c->wr, c->fd);
		server_client_close(cmld, c);
	}
	if (cmld->lfd != -1) {
		close(cmld->lfd);
		cmld->lfd = -1;
		(void)unlink(cmld->sock_path);
	}
}
