/*
 * cmld as the kernel's audit daemon (kaudit.c): where the device setting
 * audit_kernel is true and cmld runs as root in the initial user and
 * network namespaces, cmld registers with the kernel's audit subsystem
 * (NETLINK_AUDIT) and keeps every record the kernel sends in the trail as
 * type "kernel" (TSF.AUDIT, CR 2.8).
 */
#ifndef CMLD_KAUDIT_H
#define CMLD_KAUDIT_H

#include <stddef.h>

struct cmld;
struct kaudit;

/* Room for a record's text as kept in the trail's details (with NUL). */
#define KAUDIT_TEXT_MAX 2048
/* Room for the object: a type name ("CONFIG_CHANGE") or "type NNNNN". */
#define KAUDIT_OBJECT_MAX 32
/* Room for the result: "ok", "failed", "-" or the value as the kernel has it.
 */
#define KAUDIT_RESULT_MAX 32
/* Room for a command name (the kernel's comm is at most 15 bytes). */
#define KAUDIT_COMM_MAX 64

/* One kernel audit message, as cmld stores it. */
struct kaudit_msg {
	int type; /* the netlink message type (AUDIT_SYSCALL, ...) */
	long long time_ms; /* the kernel's time of the event; 0: none given */
	long long serial; /* the event's serial; -1: none given */
	/* the subject the record names (uid=, else auid=; pid=); -1: none */
	long long uid, pid;
	char comm[KAUDIT_COMM_MAX]; /* its comm= ("" if none) */
	char object[KAUDIT_OBJECT_MAX];
	char result[KAUDIT_RESULT_MAX];
	char text[KAUDIT_TEXT_MAX]; /* the record's text, cut with "..." */
};

/*
 * Starts collecting kernel audit records where the setting audit_kernel
 * is true: checks that cmld runs as root in the initial user and network
 * namespaces, opens NETLINK_AUDIT and asks the kernel for its audit
 * status; the registration completes in cmld's loop.  Returns 0 when the
 * registration is under way, -1 when kernel records are not collected
 * (the setting is off, or why not is logged and audited).  Call it once
 * the trail is open and before the loop runs.
 */
int kaudit_start(struct cmld *cmld);
/*
 * Stops collecting: unregisters cmld as the kernel's audit daemon and
 * restores the enabled state the kernel had at kaudit_start (audited).
 * Nothing when kaudit_start did not start; call it before the trail
 * closes.
 */
void kaudit_stop(struct cmld *cmld);

/*
 * Returns the name of a kernel audit record type as linux/audit.h and
 * auditd name it without "AUDIT_" ("SYSCALL", "ANOM_ABEND"), or NULL for
 * a type not in cmld's table.
 */
const char *kaudit_type_name(int type);
/*
 * Parses one kernel audit message of type with its payload (len bytes, up
 * to a NUL): the time and serial of "audit(SEC.MS:SERIAL): ", the
 * subject, comm, the result from res= or success= (1, yes or success:
 * "ok"; 0, no, failed: "failed"; another value as given; none: "-"; an
 * AVC's "denied" or "granted"), looking inside a user message's msg='...'
 * too.  Returns 0, or -1 for an empty payload or one that does not start
 * with printable text.
 */
int kaudit_parse(int type, const char *data, size_t len, struct kaudit_msg *m);
/*
 * Returns the type of a kernel audit record in the datagram buf (n bytes
 * as received), with *data and *len its payload; 0 when the datagram
 * holds no record (an acknowledgement, the status, a message of the
 * protocol).  The kernel's nlmsg_len of a record counts its payload only.
 */
int kaudit_datagram(const void *buf, size_t n, const char **data, size_t *len);
/*
 * Returns the value of field key in text (key=value, key="value",
 * key='value'; whole keys only: "pid" does not match "ppid"), copied
 * into val (cut to vlen - 1 bytes); 1 when found, 0 when not.  Fields
 * inside a quoted value are not looked at.
 */
int kaudit_field(const char *text, const char *key, char *val, size_t vlen);
/*
 * Checks that a process of effective uid euid whose /proc is proc can be
 * the kernel's audit daemon: root, in the user and network namespaces of
 * proc/1.  Returns 0, or -1 with *why set (free it) saying why not.
 */
int kaudit_eligible(const char *proc, long long euid, char **why);

#endif
