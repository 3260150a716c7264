/*
 * cmld as the kernel's audit daemon (TSF.AUDIT, CR 2.8): with the setting
 * audit_kernel true, cmld registers with the kernel's audit subsystem the
 * way auditd does (AUDIT_SET with its pid over NETLINK_AUDIT) and keeps
 * each record the kernel sends in the trail, type "kernel".
 *
 * The kernel has one audit daemon, for the whole machine, and only a
 * process of the initial user (and PID) namespace with CAP_AUDIT_CONTROL
 * may be it; so cmld tries only as root in the initial user and network
 * namespaces, and says once, in the trail and the log, why it does not
 * otherwise.  Registering turns auditing on (records such as ANOM_ABEND
 * exist only then); cmld's stop unregisters and turns it off again if it
 * was off.  A cmld killed outright leaves it on, as auditd does: the
 * kernel notices the dead socket and keeps records until a daemon
 * returns.  The kernel never audits the system calls of its own audit
 * daemon, so cmld's writes to the trail make no records of their own.
 *
 * Everything runs in cmld's loop without blocking: the kernel answers
 * AUDIT_GET from a thread of its own, so the registration is a small
 * state machine (ask the status, register, registered) bounded by a
 * timer.  Only the stop waits, briefly, for the kernel's acknowledgement.
 * Each record is stored as the kernel wrote it, one trail record per
 * message (the parts of one event share the serial in their text);
 * AUDIT_EOE, which only closes an event and carries nothing else, is not
 * stored.  The subject is the process the record names (uid=, else a set
 * auid=; pid=; comm=), or for a part that names none the one the event's
 * first part named; -1 when the kernel names no process (a configuration
 * change it makes itself).  The time is the kernel's time of the event.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <linux/audit.h>
#include <linux/netlink.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "ctx.h"
#include "kaudit.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "settings.h"
#include "store.h"
#include "xmalloc.h"

/* Kernel messages handled per loop turn, so that clients are not starved. */
#define KAUDIT_BATCH 64
/* The receive buffer asked for: room for a burst while the trail writes. */
#define KAUDIT_RCVBUF (4 * 1024 * 1024)
/* How long the kernel has to answer the registration. */
#define KAUDIT_REPLY_MS 5000
/* How long the stop waits for the kernel's acknowledgement. */
#define KAUDIT_STOP_MS 1000
/* Messages the stop still stores after unregistering. */
#define KAUDIT_STOP_DRAIN 256
/* At most one "records lost" warning in this many milliseconds. */
#define KAUDIT_LOST_LOG_MS (60 * 1000)
/* A datagram: a record is at most MAX_AUDIT_MESSAGE_LENGTH (8970). */
#define KAUDIT_BUF 16384
/* The kernel's "no uid" (auid= and uid= of a process that has none). */
#define KAUDIT_UNSET 4294967295LL

enum kaudit_state {
	KAUDIT_GETTING, /* AUDIT_GET sent, waiting for the status */
	KAUDIT_SETTING, /* AUDIT_SET sent, waiting for its acknowledgement */
	KAUDIT_REGISTERED, /* cmld is the kernel's audit daemon */
	KAUDIT_OFF /* given up (said why); the socket is closed */
};

struct kaudit {
	struct cmld *cmld;
	struct loop_watch w;
	struct loop_timer timer;
	int fd;
	enum kaudit_state state;
	unsigned int seq; /* of the last request */
	unsigned int old_enabled; /* the kernel's state at the start */
	unsigned int old_pid;
	int set_enabled; /* the registration turned auditing on */
	/* the event in progress: its serial, time and subject */
	long long ev_serial, ev_time_ms, ev_uid, ev_pid;
	char ev_comm[KAUDIT_COMM_MAX];
	unsigned long long stored; /* records stored */
	unsigned long long lost; /* losses since the last warning */
	long long lost_logged_ms; /* -1: never */
	struct kaudit_msg msg;
	union {
		struct nlmsghdr h;
		char b[KAUDIT_BUF];
	} buf;
};

/*
 * The record types cmld names, as linux/audit.h and auditd (libaudit) name
 * them; others are stored as "type NNNN".  Numbers, not the macros: older
 * headers lack the newer ones, and the numbers are the kernel's ABI.
 */
static const struct {
	int type;
	const char *name;
} kaudit_types[] = {
	/* clang-format off */
	{ 1005, "USER" }, { 1006, "LOGIN" },
	{ 1100, "USER_AUTH" }, { 1101, "USER_ACCT" }, { 1102, "USER_MGMT" },
	{ 1103, "CRED_ACQ" }, { 1104, "CRED_DISP" }, { 1105, "USER_START" },
	{ 1106, "USER_END" }, { 1107, "USER_AVC" },
	{ 1108, "USER_CHAUTHTOK" }, { 1109, "USER_ERR" },
	{ 1110, "CRED_REFR" }, { 1111, "USYS_CONFIG" },
	{ 1112, "USER_LOGIN" }, { 1113, "USER_LOGOUT" }, { 1114, "ADD_USER" },
	{ 1115, "DEL_USER" }, { 1116, "ADD_GROUP" }, { 1117, "DEL_GROUP" },
	{ 1118, "DAC_CHECK" }, { 1119, "CHGRP_ID" }, { 1120, "TEST" },
	{ 1121, "TRUSTED_APP" }, { 1122, "USER_SELINUX_ERR" },
	{ 1123, "USER_CMD" }, { 1124, "USER_TTY" }, { 1125, "CHUSER_ID" },
	{ 1126, "GRP_AUTH" }, { 1127, "SYSTEM_BOOT" },
	{ 1128, "SYSTEM_SHUTDOWN" }, { 1129, "SYSTEM_RUNLEVEL" },
	{ 1130, "SERVICE_START" }, { 1131, "SERVICE_STOP" },
	{ 1200, "DAEMON_START" }, { 1201, "DAEMON_END" },
	{ 1202, "DAEMON_ABORT" }, { 1203, "DAEMON_CONFIG" },
	{ 1300, "SYSCALL" }, { 1302, "PATH" }, { 1303, "IPC" },
	{ 1304, "SOCKETCALL" }, { 1305, "CONFIG_CHANGE" },
	{ 1306, "SOCKADDR" }, { 1307, "CWD" }, { 1309, "EXECVE" },
	{ 1311, "IPC_SET_PERM" }, { 1312, "MQ_OPEN" },
	{ 1313, "MQ_SENDRECV" }, { 1314, "MQ_NOTIFY" },
	{ 1315, "MQ_GETSETATTR" }, { 1316, "KERNEL_OTHER" },
	{ 1317, "FD_PAIR" }, { 1318, "OBJ_PID" }, { 1319, "TTY" },
	{ 1320, "EOE" }, { 1321, "BPRM_FCAPS" }, { 1322, "CAPSET" },
	{ 1323, "MMAP" }, { 1324, "NETFILTER_PKT" },
	{ 1325, "NETFILTER_CFG" }, { 1326, "SECCOMP" }, { 1327, "PROCTITLE" },
	{ 1328, "FEATURE_CHANGE" }, { 1329, "REPLACE" },
	{ 1330, "KERN_MODULE" }, { 1331, "FANOTIFY" },
	{ 1332, "TIME_INJOFFSET" }, { 1333, "TIME_ADJNTPVAL" },
	{ 1334, "BPF" }, { 1335, "EVENT_LISTENER" }, { 1336, "URINGOP" },
	{ 1337, "OPENAT2" }, { 1338, "DM_CTRL" }, { 1339, "DM_EVENT" },
	{ 1400, "AVC" }, { 1401, "SELINUX_ERR" }, { 1402, "AVC_PATH" },
	{ 1403, "MAC_POLICY_LOAD" }, { 1404, "MAC_STATUS" },
	{ 1405, "MAC_CONFIG_CHANGE" }, { 1406, "MAC_UNLBL_ALLOW" },
	{ 1407, "MAC_CIPSOV4_ADD" }, { 1408, "MAC_CIPSOV4_DEL" },
	{ 1409, "MAC_MAP_ADD" }, { 1410, "MAC_MAP_DEL" },
	{ 1415, "MAC_IPSEC_EVENT" }, { 1416, "MAC_UNLBL_STCADD" },
	{ 1417, "MAC_UNLBL_STCDEL" }, { 1418, "MAC_CALIPSO_ADD" },
	{ 1419, "MAC_CALIPSO_DEL" }, { 1420, "MAC_TASK_CONTEXTS" },
	{ 1421, "MAC_OBJ_CONTEXTS" },
	{ 1700, "ANOM_PROMISCUOUS" }, { 1701, "ANOM_ABEND" },
	{ 1702, "ANOM_LINK" }, { 1703, "ANOM_CREAT" },
	{ 1800, "INTEGRITY_DATA" }, { 1801, "INTEGRITY_METADATA" },
	{ 1802, "INTEGRITY_STATUS" }, { 1803, "INTEGRITY_HASH" },
	{ 1804, "INTEGRITY_PCR" }, { 1805, "INTEGRITY_RULE" },
	{ 1806, "INTEGRITY_EVM_XATTR" }, { 1807, "INTEGRITY_POLICY_RULE" },
	/* clang-format on */
};

const char *
kaudit_type_name(int type)
{
	size_t i;

	for (i = 0; i < sizeof kaudit_types / sizeof kaudit_types[0]; i++) {
		if (kaudit_types[i].type == type)
			return kaudit_types[i].name;
	}
	return NULL;
}

/*
 * Finds the next field or word of text at *pp: key (klen bytes) and its
 * value (vlen bytes, quotes taken off; val NULL for a word without '='),
 * *quoted the quote around the value ('"', '\'' or 0).  Advances *pp; 0
 * at the end.
 */
static int
kaudit_next(const char **pp, const char **key, size_t *klen, const char **val,
    size_t *vlen, int *quoted)
{
	const char *p = *pp, *e;
	char q;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	*key = p;
	while (*p != '\0' && *p != ' ' && *p != '=')
		p++;
	*klen = (size_t)(p - *key);
	*val = NULL;
	*vlen = 0;
	*quoted = 0;
	if (*p == '=') {
		p++;
		if (*p == '"' || *p == '\'') {
			q = *p++;
			if ((e = strchr(p, q)) == NULL)
				e = p + strlen(p);
			*val = p;
			*vlen = (size_t)(e - p);
			*quoted = q;
			p = *e != '\0' ? e + 1 : e;
		} else {
			*val = p;
			while (*p != '\0' && *p != ' ')
				p++;
			*vlen = (size_t)(p - *val);
		}
	}
	*pp = p;
	return 1;
}

/* As kaudit_field, also giving the quote around the value (0: none). */
static int
kaudit_find(
    const char *text, const char *key, char *val, size_t vlen, int *quoted)
{
	const char *p = text, *k, *v;
	size_t kl, vl, n = strlen(key);
	int q;

	while (kaudit_next(&p, &k, &kl, &v, &vl, &q)) {
		if (v == NULL || kl != n || memcmp(k, key, n) != 0)
			continue;
		if (vlen == 0)
			return 1;
		if (vl >= vlen)
			vl = vlen - 1;
		memcpy(val, v, vl);
		val[vl] = '\0';
		if (quoted != NULL)
			*quoted = q;
		return 1;
	}
	return 0;
}

int
kaudit_field(const char *text, const char *key, char *val, size_t vlen)
{
	return kaudit_find(text, key, val, vlen, NULL);
}

/*
 * Parses a decimal number of at most max; returns it, or -1 when s is no
 * such number.
 */
static long long
kaudit_number(const char *s, long long max)
{
	long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * Parses the prefix "audit(SEC.MS:SERIAL): " at text into m; returns the
 * offset of the fields after it, 0 when there is no such prefix.
 */
static size_t
kaudit_stamp(const char *text, struct kaudit_msg *m)
{
	const char *p = text;
	long long sec = 0, ms = 0, serial = 0;
	int n;

	if (strncmp(p, "audit(", 6) != 0)
		return 0;
	p += 6;
	for (n = 0; *p >= '0' && *p <= '9'; p++, n++) {
		if (n >= 12)
			return 0;
		sec = sec * 10 + (*p - '0');
	}
	if (n == 0 || *p++ != '.')
		return 0;
	for (n = 0; *p >= '0' && *p <= '9'; p++, n++) {
		if (n >= 3)
			return 0;
		ms = ms * 10 + (*p - '0');
	}
	if (n != 3 || *p++ != ':')
		return 0;
	for (n = 0; *p >= '0' && *p <= '9'; p++, n++) {
		if (n >= 12)
			return 0;
		serial = serial * 10 + (*p - '0');
	}
	if (n == 0 || strncmp(p, "):", 2) != 0)
		return 0;
	p += 2;
	m->time_ms = sec * 1000 + ms;
	m->serial = serial;
	return (size_t)(p - text);
}

/*
 * Decodes in place a value the kernel printed in hex because it held
 * blanks, quotes or control characters (an unquoted comm=); leaves it as
 * it is when it is not hex or decodes to a NUL.
 */
static void
kaudit_unhex(char *s)
{
	size_t i, n = strlen(s);
	char pair[3] = { 0 };

	if (n == 0 || n % 2 != 0)
		return;
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return;
	}
	for (i = 0; i < n; i += 2) {
		if (s[i] == '0' && s[i + 1] == '0')
			return;
	}
	for (i = 0; i < n; i += 2) {
		pair[0] = s[i];
		pair[1] = s[i + 1];
		s[i / 2] = (char)strtoul(pair, NULL, 16);
	}
	s[n / 2] = '\0';
}

/* Maps a res= or success= value to the trail's words. */
static void
kaudit_result(const char *v, char *result, size_t len)
{
	size_t n;

	if (*v == '\0')
		v = "-";
	else if (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
	    strcmp(v, "success") == 0)
		v = "ok";
	else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 ||
	    strcmp(v, "failed") == 0 || strcmp(v, "fail") == 0)
		v = "failed";
	/* Cut to its room (a result the kernel spells out at length). */
	n = strlen(v);
	if (n >= len)
		n = len - 1;
	memcpy(result, v, n);
	result[n] = '\0';
}

/*
 * Looks for the fields of m in fields: those not found yet only, so that
 * the outer fields of a user message win over those inside its msg=.
 */
static void
kaudit_fields(const char *fields, struct kaudit_msg *m, int *have_res)
{
	char v[KAUDIT_COMM_MAX];
	long long n;
	int quoted;

	if (m->pid == -1 && kaudit_field(fields, "pid", v, sizeof v) &&
	    (n = kaudit_number(v, INT_MAX)) > 0)
		m->pid = n;
	if (m->uid == -1 && kaudit_field(fields, "uid", v, sizeof v) &&
	    (n = kaudit_number(v, KAUDIT_UNSET)) != -1 && n != KAUDIT_UNSET)
		m->uid = n;
	if (m->uid == -1 && kaudit_field(fields, "auid", v, sizeof v) &&
	    (n = kaudit_number(v, KAUDIT_UNSET)) != -1 && n != KAUDIT_UNSET)
		m->uid = n;
	if (m->comm[0] == '\0' &&
	    kaudit_find(fields, "comm", m->comm, sizeof m->comm, &quoted) &&
	    !quoted)
		kaudit_unhex(m->comm);
	if (!*have_res) {
		if (kaudit_field(fields, "res", v, sizeof v) ||
		    kaudit_field(fields, "success", v, sizeof v)) {
			kaudit_result(v, m->result, sizeof m->result);
			*have_res = 1;
		}
	}
}

/* The verdict of an AVC record ("avc:  denied  { read } for ..."), if any. */
static void
kaudit_avc(const char *fields, struct kaudit_msg *m, int *have_res)
{
	const char *p = fields, *k, *v;
	size_t kl, vl;
	int q, words = 0;

	while (
	    !*have_res && words < 4 && kaudit_next(&p, &k, &kl, &v, &vl, &q)) {
		words++;
		if (v != NULL)
			break;
		if ((kl == 6 && memcmp(k, "denied", 6) == 0) ||
		    (kl == 7 && memcmp(k, "granted", 7) == 0)) {
			snprintf(
			    m->result, sizeof m->result, "%.*s", (int)kl, k);
			*have_res = 1;
		}
	}
}

int
kaudit_parse(int type, const char *data, size_t len, struct kaudit_msg *m)
{
	char inner[KAUDIT_TEXT_MAX];
	const char *nul, *name;
	size_t off;
	int have_res = 0, quoted;

	memset(m, 0, sizeof *m);
	m->type = type;
	m->serial = -1;
	m->uid = -1;
	m->pid = -1;
	snprintf(m->result, sizeof m->result, "-");
	if ((name = kaudit_type_name(type)) != NULL)
		snprintf(m->object, sizeof m->object, "%s", name);
	else
		snprintf(m->object, sizeof m->object, "type %d", type);
	if (data == NULL)
		return -1;
	/* The kernel may count the string's NUL; nothing after it counts. */
	if ((nul = memchr(data, '\0', len)) != NULL)
		len = (size_t)(nul - data);
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
		len--;
	if (len == 0)
		return -1;
	if (len < sizeof m->text) {
		memcpy(m->text, data, len);
		m->text[len] = '\0';
	} else {
		/* Cut, and marked as cut: a record is never silently short. */
		memcpy(m->text, data, sizeof m->text - 4);
		memcpy(m->text + sizeof m->text - 4, "...", 4);
	}

	off = kaudit_stamp(m->text, m);
	kaudit_fields(m->text + off, m, &have_res);
	/* A user message's own fields (PAM's res=) are inside msg='...'. */
	if (kaudit_find(m->text + off, "msg", inner, sizeof inner, &quoted) &&
	    quoted == '\'')
		kaudit_fields(inner, m, &have_res);
	if (type == AUDIT_AVC || type == AUDIT_USER_AVC)
		kaudit_avc(m->text + off, m, &have_res);
	return 0;
}

/* Reads the namespace link proc/PID/ns/NS into buf; -1 with *why set. */
static int
kaudit_ns(const char *proc, const char *pid, const char *ns, char *buf,
    size_t len, char **why)
{
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof path, "%s/%s/ns/%s", proc, pid, ns);
	if ((n = readlink(path, buf, len - 1)) == -1) {
		xcause(why,
		    "cannot tell cmld's namespaces from the initial "
		    "ones: %s: %s",
		    path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

int
kaudit_eligible(const char *proc, long long euid, char **why)
{
	static const char *const ns[][2] = {
		{ "user", "user" },
		{ "net", "network" },
	};
	char self[128], init[128];
	size_t i;

	if (euid != 0) {
		xcause(why,
		    "cmld does not run as root (its effective uid is "
		    "%lld): only root may be the kernel's audit daemon",
		    euid);
		return -1;
	}
	for (i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		if (kaudit_ns(proc, "self", ns[i][0], self, sizeof self, why) ==
			-1 ||
		    kaudit_ns(proc, "1", ns[i][0], init, sizeof init, why) ==
			-1)
			return -1;
		if (strcmp(self, init) != 0) {
			xcause(why,
			    "cmld runs in a %s namespace of its own "
			    "(%s), not the initial one (%s): the kernel's "
			    "audit daemon must run in the initial %s "
			    "namespace",
			    ns[i][1], self, init, ns[i][1]);
			return -1;
		}
	}
	return 0;
}

/*
 * Sends the kernel a request of type with payload (len bytes), flags
 * besides NLM_F_REQUEST; -1 with errno set.
 */
static int
kaudit_send(
    struct kaudit *ka, int type, int flags, const void *payload, size_t len)
{
	union {
		struct nlmsghdr h;
		char b[NLMSG_SPACE(sizeof(struct audit_status))];
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t n;

	if (len > sizeof req.b - NLMSG_HDRLEN) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = NLMSG_LENGTH(len);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | flags;
	req.h.nlmsg_seq = ++ka->seq;
	if (len > 0)
		memcpy(NLMSG_DATA(&req.h), payload, len);
	do
		n = sendto(ka->fd, &req, req.h.nlmsg_len, 0,
		    (struct sockaddr *)&sa, sizeof sa);
	while (n == -1 && errno == EINTR);
	return n == -1 ? -1 : 0;
}

/*
 * Asks the kernel to set its audit daemon to pid (0: none) and, when
 * enabled is 0 or 1, auditing on or off; acknowledged.  -1 with errno.
 */
static int
kaudit_set(struct kaudit *ka, unsigned int pid, int set_pid, int enabled)
{
	struct audit_status s;

	memset(&s, 0, sizeof s);
	if (set_pid) {
		s.mask |= AUDIT_STATUS_PID;
		s.pid = pid;
	}
	if (enabled == 0 || enabled == 1) {
		s.mask |= AUDIT_STATUS_ENABLED;
		s.enabled = (unsigned int)enabled;
	}
	return kaudit_send(ka, AUDIT_SET, NLM_F_ACK, &s, sizeof s);
}

/* Stops watching and closes the socket; the state is off from now on. */
static void
kaudit_shut(struct kaudit *ka)
{
	loop_timer_stop(ka->cmld->loop, &ka->timer);
	loop_watch_del(ka->cmld->loop, &ka->w);
	if (ka->fd != -1)
		close(ka->fd);
	ka->fd = -1;
	ka->state = KAUDIT_OFF;
}

/* Says, in the log and the trail, that kernel records are not collected. */
static void __attribute__((format(printf, 2, 3)))
kaudit_refuse(struct cmld *cmld, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	log_warnx("kernel audit records are not collected: %s", why);
	audit_write(cmld, "audit", "kernel", PROTO_ERR_FAILED,
	    "kernel audit records are not collected: %s", why);
	free(why);
}

/*
 * Gives up the registration (said why); when it had turned auditing on,
 * turns it back off.
 */
static void
kaudit_fail(struct kaudit *ka, const char *why)
{
	if (ka->set_enabled && kaudit_set(ka, 0, 0, 0) == -1)
		log_warn("cannot turn the kernel's auditing off again");
	ka->set_enabled = 0;
	kaudit_refuse(ka->cmld, "%s", why);
	kaudit_shut(ka);
}

/* Notes kernel records that did not reach the trail; warns once a minute. */
static void
kaudit_lost(struct kaudit *ka, const char *why)
{
	long long now = loop_now_ms();

	ka->lost++;
	if (ka->lost_logged_ms != -1 &&
	    now - ka->lost_logged_ms < KAUDIT_LOST_LOG_MS)
		return;
	log_warnx("kernel audit records were lost (%llu time%s): %s", ka->lost,
	    ka->lost == 1 ? "" : "s", why);
	audit_write(ka->cmld, "audit", "kernel", PROTO_ERR_FAILED,
	    "kernel audit records were lost (%llu time%s): %s", ka->lost,
	    ka->lost == 1 ? "" : "s", why);
	ka->lost = 0;
	ka->lost_logged_ms = now;
}

/* Stores one kernel record (its type, its payload of len bytes). */
static void
kaudit_record(struct kaudit *ka, int type, const char *data, size_t len)
{
	struct kaudit_msg *m = &ka->msg;

	if (type == AUDIT_EOE)
		return;
	if (kaudit_parse(type, data, len, m) == -1) {
		log_debug("kernel audit: an empty record of type %d", type);
		return;
	}
	/*
	 * The parts of one event (SYSCALL, then CWD, PATH, PROCTITLE) share
	 * its time and serial; those naming no process get the subject the
	 * event named first.
	 */
	if (m->serial == -1 || m->serial != ka->ev_serial ||
	    m->time_ms != ka->ev_time_ms) {
		ka->ev_serial = m->serial;
		ka->ev_time_ms = m->time_ms;
		ka->ev_uid = m->uid;
		ka->ev_pid = m->pid;
		memcpy(ka->ev_comm, m->comm, sizeof ka->ev_comm);
	} else if (m->uid == -1 && m->pid == -1) {
		m->uid = ka->ev_uid;
		m->pid = ka->ev_pid;
		if (m->comm[0] == '\0')
			memcpy(m->comm, ka->ev_comm, sizeof m->comm);
	}
	if (audit_write_from(ka->cmld, m->time_ms, "kernel", m->uid, m->pid,
		m->comm, m->object, m->result, "%s", m->text) == -1)
		kaudit_lost(ka, "the trail did not take them");
	else
		ka->stored++;
}

/* The registration's acknowledgement (error 0) or refusal. */
static void
kaudit_registered(struct kaudit *ka, int error)
{
	char *why;

	if (error == EEXIST) {
		why = xasprintf("another audit daemon (pid %u) is registered "
				"with the kernel, so kernel records go to it",
		    ka->old_pid);
		kaudit_fail(ka, why);
		free(why);
		return;
	}
	if (error != 0) {
		why = xasprintf("the kernel refused cmld as its audit daemon: "
				"%s",
		    strerror(error));
		kaudit_fail(ka, why);
		free(why);
		return;
	}
	loop_timer_stop(ka->cmld->loop, &ka->timer);
	ka->state = KAUDIT_REGISTERED;
	log_info("cmld is the kernel's audit daemon (pid %d)", (int)getpid());
	audit_write(ka->cmld, "audit", "kernel", "ok",
	    "cmld is the kernel's audit daemon (pid %d): kernel audit records "
	    "are kept in the trail as type kernel; auditing was %s%s",
	    (int)getpid(),
	    ka->old_enabled == 0       ? "off and is on now"
		: ka->old_enabled == 2 ? "on and locked"
				       : "on",
	    ka->old_pid != 0 ? " (the daemon registered before, which no "
			       "longer answered, was replaced)"
			     : "");
}

/* The kernel's audit status: remembered, then cmld registers. */
static void
kaudit_status(struct kaudit *ka, const struct nlmsghdr *h)
{
	struct audit_status s;
	size_t len = h->nlmsg_len - NLMSG_HDRLEN;
	char *why;

	if (ka->state != KAUDIT_GETTING)
		return;
	memset(&s, 0, sizeof s);
	memcpy(&s, NLMSG_DATA(h), len < sizeof s ? len : sizeof s);
	ka->old_enabled = s.enabled;
	ka->old_pid = s.pid;
	/* Locked (2): it stays as it is, on. */
	ka->set_enabled = s.enabled == 0;
	if (kaudit_set(ka, (unsigned int)getpid(), 1,
		ka->set_enabled ? 1 : -1) == -1) {
		why = xasprintf("cannot ask the kernel to register cmld: %s",
		    strerror(errno));
		ka->set_enabled = 0;
		kaudit_fail(ka, why);
		free(why);
		return;
	}
	ka->state = KAUDIT_SETTING;
}

/*
 * Handles one message from the kernel that is no record; returns the
 * error of the acknowledgement of the latest request (0: done), or -1 for
 * any other message.
 */
static int
kaudit_message(struct kaudit *ka, const struct nlmsghdr *h)
{
	const struct nlmsgerr *e;
	char *why;
	int error;

	switch (h->nlmsg_type) {
	case NLMSG_ERROR:
		if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
			return -1;
		e = NLMSG_DATA(h);
		if (e->msg.nlmsg_seq != ka->seq)
			return -1;
		error = -e->error;
		if (ka->state == KAUDIT_SETTING)
			kaudit_registered(ka, error);
		else if (ka->state == KAUDIT_GETTING && error != 0) {
			why = xasprintf("the kernel did not give its audit "
					"status: %s",
			    strerror(error));
			kaudit_fail(ka, why);
			free(why);
		}
		return error;
	case NLMSG_NOOP:
	case NLMSG_DONE:
	case AUDIT_REPLACE: /* the kernel checks that cmld answers */
		return -1;
	case AUDIT_GET:
		kaudit_status(ka, h);
		return -1;
	default:
		log_debug(
		    "kernel audit: message type %d ignored", h->nlmsg_type);
		return -1;
	}
}

int
kaudit_datagram(const void *buf, size_t n, const char **data, size_t *len)
{
	const struct nlmsghdr *h = buf;
	size_t max;

	if (n < NLMSG_HDRLEN || h->nlmsg_type < AUDIT_FIRST_USER_MSG ||
	    h->nlmsg_type > AUDIT_LAST_USER_MSG2)
		return 0;
	/*
	 * The kernel sends each record in a datagram of its own, and its
	 * nlmsg_len counts the payload only (auditd reads it so); a length
	 * that counts the header too, as netlink has it elsewhere, is cut
	 * to the datagram as well.
	 */
	max = n - NLMSG_HDRLEN;
	*data = (const char *)buf + NLMSG_HDRLEN;
	*len = h->nlmsg_len < max ? h->nlmsg_len : max;
	return h->nlmsg_type;
}

/*
 * Reads up to max messages without waiting; returns the error of the
 * acknowledgement of the latest request when it came (0: done), -1 when
 * it did not, -2 when nothing more is to be read now (or cmld gave up).
 */
static int
kaudit_read(struct kaudit *ka, int max)
{
	struct sockaddr_nl sa;
	socklen_t salen;
	struct nlmsghdr *h;
	const char *data;
	ssize_t n;
	size_t left, len;
	int done = 0, r, ack = -1, type;
	char *why;

	while (done < max && ack == -1 && ka->state != KAUDIT_OFF) {
		salen = sizeof sa;
		n = recvfrom(ka->fd, ka->buf.b, sizeof ka->buf.b, MSG_DONTWAIT,
		    (struct sockaddr *)&sa, &salen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -2;
			if (errno == ENOBUFS) {
				kaudit_lost(ka, "cmld's socket overflowed");
				continue;
			}
			why = xasprintf("cannot read the kernel's audit "
					"socket: %s",
			    strerror(errno));
			kaudit_fail(ka, why);
			free(why);
			return -2;
		}
		/* Only the kernel (port 0) speaks for the kernel. */
		if (salen < sizeof sa || sa.nl_family != AF_NETLINK ||
		    sa.nl_pid != 0)
			continue;
		if ((type = kaudit_datagram(
			 ka->buf.b, (size_t)n, &data, &len)) != 0) {
			done++;
			/* (Records come only once cmld is registered.) */
			if (ka->state != KAUDIT_GETTING)
				kaudit_record(ka, type, data, len);
			continue;
		}
		left = (size_t)n;
		for (h = &ka->buf.h;
		     NLMSG_OK(h, left) && ka->state != KAUDIT_OFF;
		     h = NLMSG_NEXT(h, left)) {
			done++;
			if ((r = kaudit_message(ka, h)) >= 0)
				ack = r;
		}
	}
	return ka->state == KAUDIT_OFF ? -2 : ack;
}

/* The socket has something: a bounded batch per loop turn. */
static void
kaudit_readable(struct loop_watch *w, unsigned int events)
{
	struct kaudit *ka = w->arg;

	(void)events;
	/* More is left after the batch: the watch fires again. */
	(void)kaudit_read(ka, KAUDIT_BATCH);
}

/* The kernel did not answer the registration in time. */
static void
kaudit_timeout(struct loop_timer *t)
{
	struct kaudit *ka = t->arg;

	if (ka->state != KAUDIT_GETTING && ka->state != KAUDIT_SETTING)
		return;
	/* The kernel may have taken cmld without its answer arriving. */
	if (ka->state == KAUDIT_SETTING &&
	    kaudit_set(ka, 0, 1, ka->set_enabled ? (int)ka->old_enabled : -1) ==
		-1)
		log_warn("cannot unregister as the kernel's audit daemon");
	ka->set_enabled = 0;
	kaudit_fail(ka,
	    "the kernel did not answer the registration within "
	    "5 s");
}

/* Returns the setting audit_kernel: 1 true, 0 false. */
static int
kaudit_wanted(struct cmld *cmld)
{
	const struct setting_def *def = setting_find("audit_kernel");
	char *value = NULL, *cause = NULL;
	int on;

	if (store_setting_get(cmld->store, "audit_kernel", &value, &cause) ==
	    -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	on = strcmp(value != NULL  ? value
		     : def != NULL ? def->def
				   : "false",
		 "true") == 0;
	free(value);
	return on;
}

int
kaudit_start(struct cmld *cmld)
{
	struct kaudit *ka;
	char *why = NULL;
	int fd, size = KAUDIT_RCVBUF;

	if (!kaudit_wanted(cmld)) {
		log_debug("kernel audit records are not collected: the "
			  "setting audit_kernel is false");
		return -1;
	}
	if (kaudit_eligible("/proc", (long long)geteuid(), &why) == -1) {
		kaudit_refuse(cmld, "%s", why);
		free(why);
		return -1;
	}
	fd = socket(
	    AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd == -1) {
		if (errno == EPROTONOSUPPORT)
			kaudit_refuse(cmld,
			    "this kernel has no audit support "
			    "(CONFIG_AUDIT), or it was turned off at boot "
			    "(audit=0)");
		else
			kaudit_refuse(cmld,
			    "cannot open the kernel's audit "
			    "socket: %s",
			    strerror(errno));
		return -1;
	}
	/* Room for a burst; root may go past rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) ==
	    -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);

	ka = xcalloc(1, sizeof *ka);
	ka->cmld = cmld;
	ka->fd = fd;
	ka->state = KAUDIT_GETTING;
	ka->ev_serial = -1;
	ka->lost_logged_ms = -1;
	loop_timer_init(&ka->timer, kaudit_timeout, ka);
	if (loop_watch_add(
		cmld->loop, &ka->w, fd, EPOLLIN, kaudit_readable, ka) == -1) {
		kaudit_refuse(cmld,
		    "cannot watch the kernel's audit socket: "
		    "%s",
		    strerror(errno));
		close(fd);
		free(ka);
		return -1;
	}
	if (kaudit_send(ka, AUDIT_GET, 0, NULL, 0) == -1 ||
	    loop_timer_start(cmld->loop, &ka->timer, KAUDIT_REPLY_MS) == -1) {
		kaudit_refuse(cmld,
		    "cannot ask the kernel for its audit "
		    "status: %s",
		    strerror(errno));
		kaudit_shut(ka);
		free(ka);
		return -1;
	}
	cmld->kaudit = ka;
	log_debug("kernel audit: asking the kernel to make cmld its audit "
		  "daemon");
	return 0;
}

/*
 * Waits up to KAUDIT_STOP_MS for the acknowledgement of the latest
 * request, storing the records before it; returns its error (0: done), or
 * -1 when it did not come.
 */
static int
kaudit_wait_ack(struct kaudit *ka)
{
	struct pollfd pfd = { .fd = ka->fd, .events = POLLIN };
	long long end = loop_now_ms() + KAUDIT_STOP_MS, now;
	int r;

	while (ka->state != KAUDIT_OFF) {
		if ((r = kaudit_read(ka, KAUDIT_STOP_DRAIN)) >= 0)
			return r;
		if ((now = loop_now_ms()) >= end)
			break;
		if (poll(&pfd, 1, (int)(end - now)) == -1 && errno != EINTR)
			break;
	}
	return -1;
}

void
kaudit_stop(struct cmld *cmld)
{
	struct kaudit *ka = cmld->kaudit;
	int r;

	if (ka == NULL)
		return;
	cmld->kaudit = NULL;
	/* What came before the stop; the registration's answer among it. */
	if (ka->state != KAUDIT_OFF)
		(void)kaudit_read(ka, KAUDIT_STOP_DRAIN);
	if (ka->state == KAUDIT_REGISTERED) {
		r = -1;
		if (kaudit_set(ka, 0, 1,
			ka->set_enabled ? (int)ka->old_enabled : -1) == 0)
			r = kaudit_wait_ack(ka);
		/* Records sent before the kernel let go of cmld. */
		if (ka->state != KAUDIT_OFF)
			(void)kaudit_read(ka, KAUDIT_STOP_DRAIN);
		if (r == 0) {
			log_info("cmld is no longer the kernel's audit daemon "
				 "(%llu kernel records kept)",
			    ka->stored);
			audit_write(cmld, "audit", "kernel", "ok",
			    "cmld is no longer the kernel's audit daemon "
			    "(%llu kernel records kept); auditing %s",
			    ka->stored,
			    ka->set_enabled ? "is off again, as "
					      "it was"
					    : "stays on, as it was");
		} else {
			log_warnx("cmld could not unregister as the kernel's "
				  "audit daemon: %s",
			    r > 0 ? strerror(r) : "the kernel did not answer");
			audit_write(cmld, "audit", "kernel", PROTO_ERR_FAILED,
			    "cmld could not unregister as the kernel's audit "
			    "daemon (%s); the kernel lets go of it when its "
			    "socket is gone, auditing stays %s",
			    r > 0 ? strerror(r) : "the kernel did not answer",
			    ka->set_enabled ? "on" : "as it was");
		}
	}
	if (ka->state != KAUDIT_OFF)
		kaudit_shut(ka);
	free(ka);
}
