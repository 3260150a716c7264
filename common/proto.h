/*
 * The varlink wire protocol: one JSON object per message, terminated by a
 * NUL byte, over a Unix stream socket.  Messages are limited to
 * PROTO_MAX_MSG bytes (without the NUL).
 */
#ifndef CML_PROTO_H
#define CML_PROTO_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#define PROTO_MAX_MSG (1024 * 1024)
/* Descriptors one message may carry (SCM_RIGHTS), and groups held. */
#define PROTO_MAX_FDS 32
#define PROTO_MAX_FD_GROUPS 8

/* Error names.  varlink's own, then cml's (interface org.cml.Error). */
#define PROTO_ERR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define PROTO_ERR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define PROTO_ERR_METHOD_NOT_IMPLEMENTED \
	"org.varlink.service.MethodNotImplemented"
#define PROTO_ERR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define PROTO_ERR_PERMISSION_DENIED "org.cml.Error.PermissionDenied"
#define PROTO_ERR_PROTOCOL "org.cml.Error.Protocol"
#define PROTO_ERR_INVALID_ARGUMENT "org.cml.Error.InvalidArgument"
#define PROTO_ERR_NOT_FOUND "org.cml.Error.NotFound"
#define PROTO_ERR_NOT_PROVISIONED "org.cml.Error.NotProvisioned"
#define PROTO_ERR_ALREADY_PROVISIONED "org.cml.Error.AlreadyProvisioned"
#define PROTO_ERR_BUSY "org.cml.Error.Busy"
#define PROTO_ERR_FAILED "org.cml.Error.Failed"
#define PROTO_ERR_INVALID_SIGNATURE "org.cml.Error.InvalidSignature"
#define PROTO_ERR_INTEGRITY "org.cml.Error.IntegrityViolation"
#define PROTO_ERR_DOWNGRADE "org.cml.Error.Downgrade"
/* The audit trail is full: state-changing calls wait for room. */
#define PROTO_ERR_AUDIT_FULL "org.cml.Error.AuditFull"
/* A call needs a secret it was sent without (parameter "secret": its name). */
#define PROTO_ERR_SECRET_REQUIRED "org.cml.Error.SecretRequired"

/* Descriptors that came with the message starting at stream offset at. */
struct proto_fd_group {
	unsigned long long at;
	int fds[PROTO_MAX_FDS];
	size_t n;
};

/*
 * Incoming bytes, split into messages, and the descriptors that came with
 * them.  A sender passes a message's descriptors with the sendmsg(2) that
 * carries the message's first byte; the kernel hands them over with a read
 * that ends inside that message, so they belong to the last message that
 * starts in that read.
 */
struct proto_reader {
	char *buf;
	size_t len; /* bytes held */
	size_t off; /* start of the next unparsed message */
	size_t cap;
	size_t scanned; /* bytes after off already known to hold no NUL */
	unsigned long long base; /* stream offset of buf[0] */
	int at_start; /* the next byte read starts a message */
	struct proto_fd_group groups[PROTO_MAX_FD_GROUPS];
	size_t ngroups;
	int fds[PROTO_MAX_FDS]; /* those of the message last returned */
	size_t nfds;
	const char *broken; /* why the descriptors make no sense */
};

/* Prepares an empty reader. */
void proto_reader_init(struct proto_reader *r);
/* Releases a reader's buffer. */
void proto_reader_free(struct proto_reader *r);
/*
 * Reads what fd has (one recvmsg(2), taking passed descriptors); returns
 * bytes read, 0 at end of file, -1 with errno set (EAGAIN when a
 * non-blocking fd has nothing).  Descriptors that cannot belong to a
 * message make the next proto_reader_next fail.
 */
ssize_t proto_reader_fill(struct proto_reader *r, int fd);
/* Appends bytes as if read; used by tests and in-process transports. */
void proto_reader_feed(struct proto_reader *r, const void *data, size_t len);
/*
 * Takes the next complete message: 1 with *msg set (a JSON object), 0 when
 * none is complete yet, -1 with *cause set when the stream is broken
 * (oversize message, invalid JSON, not an object).  After -1 the
 * connection must be closed.
 */
int proto_reader_next(struct proto_reader *r, struct json_object **msg,
    char **cause);
/* Returns 1 if the reader holds bytes of an unfinished message. */
int proto_reader_pending(const struct proto_reader *r);
/* Returns the bytes held that are not parsed yet. */
size_t proto_reader_unparsed(const struct proto_reader *r);
/*
 * Takes the descriptors of the message last returned: copies up to max of
 * them to fds and returns how many there were; the caller owns (closes)
 * those copied, and the reader closes the rest.
 */
size_t proto_reader_take_fds(struct proto_reader *r, int *fds, size_t max);

/* A descriptor waiting to go out with the message starting at at. */
struct proto_out_group {
	size_t at; /* offset in the writer's buffer */
	int fds[PROTO_MAX_FDS];
	size_t n;
};

/* Outgoing bytes not yet written, and the descriptors to pass with them. */
struct proto_writer {
	char *buf;
	size_t len;
	size_t off;
	size_t cap;
	struct proto_out_group *groups;
	size_t ngroups;
};

/* Prepares an empty writer. */
void proto_writer_init(struct proto_writer *w);
/* Releases a writer's buffer. */
void proto_writer_free(struct proto_writer *w);
/* Queues a message (serialized, NUL-terminated); -1 if it is oversize. */
int proto_writer_queue(struct proto_writer *w, struct json_object *msg);
/*
 * Queues a message with descriptors to pass along (taken over: closed once
 * sent, or at once on failure); -1 if it is oversize or has more than
 * PROTO_MAX_FDS.
 */
int proto_writer_queue_fds(struct proto_writer *w, struct json_object *msg,
    const int *fds, size_t nfds);
/*
 * Writes as much as fd takes; returns 1 when everything is written, 0 when
 * bytes remain (EAGAIN), -1 on error with errno set.
 */
int proto_writer_flush(struct proto_writer *w, int fd);
/* Returns the number of bytes still queued. */
size_t proto_writer_pending(const struct proto_writer *w);

/* Builds a call; params may be NULL (taken over, not copied). */
struct json_object *proto_call_new(const char *method,
    struct json_object *params, int more);
/* Builds a reply; params may be NULL (taken over). */
struct json_object *proto_reply_new(struct json_object *params,
    int continues);
/*
 * Builds an error reply carrying {"message": ...} and, if subject is given,
 * the error's subject: "interface" for InterfaceNotFound, "method" for
 * MethodNotFound and MethodNotImplemented, else "parameter".
 */
struct json_object *proto_error_new(const char *error, const char *subject,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A parsed call; pointers borrow from the message. */
struct proto_call {
	const char *method;
	struct json_object *params; /* always an object */
	int more;
	int oneway;
};

/* Checks the shape of a call; -1 with *cause set if it is not one. */
int proto_call_parse(struct json_object *msg, struct proto_call *call,
    char **cause);

/* A parsed reply; pointers borrow from the message. */
struct proto_reply {
	const char *error; /* NULL on success */
	struct json_object *params; /* always an object */
	int continues;
};

/* Checks the shape of a reply; -1 with *cause set if it is not one. */
int proto_reply_parse(struct json_object *msg, struct proto_reply *reply,
    char **cause);
/* Returns the "message" of an error reply's parameters, or the error name. */
const char *proto_reply_message(const struct proto_reply *reply);

/*
 * Client side, blocking.  Connects to a Unix socket path; -1 with *cause
 * set ("cannot reach cmld at PATH: ...") on failure.
 */
int proto_connect(const char *path, char **cause);
/* Sends a whole message on a blocking fd; -1 with *cause set. */
int proto_send(int fd, struct json_object *msg, char **cause);
/*
 * As proto_send, passing descriptors with the message (they stay open:
 * the kernel passes copies).
 */
int proto_send_fds(int fd, struct json_object *msg, const int *fds,
    size_t nfds, char **cause);
/*
 * Receives one whole message on a blocking fd; -1 with *cause set on
 * error or when the peer closed the connection.
 */
int proto_recv(int fd, struct proto_reader *r, struct json_object **msg,
    char **cause);

#endif
