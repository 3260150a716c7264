/*
 * The kernel-log watcher: reads /dev/kmsg without blocking, one record per
 * read(2), and picks out the integrity errors of device-mapper devices.
 *
 * The kernel (6.1) logs them as
 *	device-mapper: crypt: %pg: INTEGRITY AEAD ERROR, sector %llu
 *	device-mapper: integrity: %pg: Checksum failed at sector 0x%llx
 * where %pg is the block device's kernel name, "dm-N" for a dm device;
 * that is mapped to the device-mapper name through sysfs.  Older kernels
 * printed the same through bio_devname ("%s").  dm-verity logs
 *	device-mapper: verity: MAJ:MIN: data block %llu is corrupted
 *	device-mapper: verity: MAJ:MIN: metadata block %llu is corrupted
 * naming its data device by number: that is mapped to the dm device
 * that holds it (SYSFS/dev/block/MAJ:MIN/holders/dm-N).  Only records of the
 * kernel's own facility count: a process that writes to /dev/kmsg gets
 * facility LOG_USER, so it cannot fake one.
 */
#include "config.h"

#include <sys/epoll.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmsg.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

/*
 * A record is at most CONSOLE_EXT_LOG_MAX (8192) bytes; a read into a
 * smaller buffer fails with EINVAL and would never get past that record.
 */
#define KMSG_RECORD_MAX (8192 + 1)
/* Records read per wake-up, so that a busy log never holds the loop up. */
#define KMSG_BATCH 64
/* Message texts longer than this are no integrity errors. */
#define KMSG_TEXT_MAX 1024
/* At most one "records lost" warning in this many milliseconds. */
#define KMSG_LOST_LOG_MS (60 * 1000)

struct kmsg {
	struct loop *loop;
	struct loop_watch w;
	int fd;
	char *sysfs_root;
	kmsg_integrity_cb cb;
	void *arg;
	long long lost_logged_ms; /* -1: never */
	unsigned long long lost; /* losses since the last warning */
	char buf[KMSG_RECORD_MAX];
};

/* Returns 1 when c may be part of a device name as the kernel prints it. */
static int
kmsg_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '+';
}

/*
 * Parses the unsigned number at *p in base 10 or 16 up to the end of the
 * text; returns it, or -1 when there is none, it overflows or something
 * follows it.
 */
static long long
kmsg_number(const char *p, int base)
{
	unsigned long long v = 0;
	int d, any = 0;

	for (; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -1;
		if (v > ((unsigned long long)LLONG_MAX - d) / base)
			return -1;
		v = v * base + d;
		any = 1;
	}
	return any ? (long long)v : -1;
}

/*
 * Checks the record's prefix "PRIO,SEQ,TS,FLAGS[,...];": PRIO must be
 * a number whose facility is the kernel's (0).  Returns the offset of the
 * text after ';', or 0 when the prefix is malformed or from user space.
 */
static size_t
kmsg_header(const char *rec, size_t len)
{
	unsigned long prio = 0;
	size_t i, ndigits = 0;

	for (i = 0; i < len && rec[i] >= '0' && rec[i] <= '9'; i++) {
		if (++ndigits > 9)
			return 0;
		prio = prio * 10 + (unsigned long)(rec[i] - '0');
	}
	if (ndigits == 0 || i >= len || rec[i] != ',')
		return 0;
	if ((prio >> 3) != 0)
		return 0;
	/* The other fields: digits, commas, flag characters; bounded. */
	for (; i < len && i < 128; i++) {
		if (rec[i] == ';')
			return i + 1;
		if (rec[i] < 0x21 || rec[i] > 0x7e)
			return 0;
	}
	return 0;
}

/* Copies text to what, each byte outside printable ASCII as '?'. */
static void
kmsg_sanitize(const char *text, char *what, size_t what_len)
{
	size_t i;

	for (i = 0; text[i] != '\0' && i + 1 < what_len; i++) {
		if ((unsigned char)text[i] < 0x20 ||
		    (unsigned char)text[i] > 0x7e)
			what[i] = '?';
		else
			what[i] = text[i];
	}
	what[i] = '\0';
}

/*
 * Parses what follows "device-mapper: verity: " in text: "MAJ:MIN: data
 * block N is corrupted" (or metadata): the device number as the name, the
 * block's first sector (4096-byte blocks, the only size cml uses).
 */
static int
kmsg_parse_verity(const char *text, const char *p, char *dm_name,
    size_t dm_name_len, long long *sector, char *what, size_t what_len)
{
	static const char data[] = "data block ";
	static const char meta[] = "metadata block ";
	static const char tail[] = " is corrupted";
	const char *name = p, *num;
	char digits[24];
	long long block;
	size_t nlen, dlen;
	int colons = 0;

	for (; (*p >= '0' && *p <= '9') || (*p == ':' && colons == 0); p++) {
		if (*p == ':')
			colons++;
	}
	nlen = (size_t)(p - name);
	if (colons != 1 || nlen < 3 || name[0] == ':' || p[-1] == ':' ||
	    nlen >= dm_name_len || nlen >= KMSG_NAME_MAX ||
	    strncmp(p, ": ", 2) != 0)
		return 0;
	p += 2;
	if (strncmp(p, data, sizeof data - 1) == 0)
		p += sizeof data - 1;
	else if (strncmp(p, meta, sizeof meta - 1) == 0)
		p += sizeof meta - 1;
	else
		return 0;
	num = p;
	while (*p >= '0' && *p <= '9')
		p++;
	dlen = (size_t)(p - num);
	if (dlen == 0 || dlen >= sizeof digits || strcmp(p, tail) != 0)
		return 0;
	memcpy(digits, num, dlen);
	digits[dlen] = '\0';
	if ((block = kmsg_number(digits, 10)) == -1 || block > LLONG_MAX / 8)
		return 0;
	memcpy(dm_name, name, nlen);
	dm_name[nlen] = '\0';
	*sector = block * 8;
	kmsg_sanitize(text, what, what_len);
	return 1;
}

int
kmsg_parse(const char *rec, size_t len, char *dm_name, size_t dm_name_len,
    long long *sector, char *what, size_t what_len)
{
	static const char crypt[] = "device-mapper: crypt: ";
	static const char integ[] = "device-mapper: integrity: ";
	static const char verity[] = "device-mapper: verity: ";
	static const char trusted[] = "trusted_key: ";
	static const char aead[] = "INTEGRITY AEAD ERROR";
	static const char csum[] = "Checksum failed";
	char text[KMSG_TEXT_MAX];
	const char *p, *name, *nl;
	size_t off, tlen, nlen;
	long long sec = -1;
	int is_crypt;

	if (rec == NULL || dm_name == NULL || dm_name_len == 0 ||
	    sector == NULL || what == NULL || what_len == 0)
		return 0;
	if ((off = kmsg_header(rec, len)) == 0)
		return 0;
	/* The text runs to the first newline (the kernel escapes its own). */
	nl = memchr(rec + off, '\n', len - off);
	tlen = (nl != NULL ? (size_t)(nl - rec) : len) - off;
	if (tlen >= sizeof text || memchr(rec + off, '\0', tlen) != NULL)
		return 0;
	memcpy(text, rec + off, tlen);
	text[tlen] = '\0';

	p = text;
	/* Some kernels leak this prefix into dm-crypt's messages. */
	if (strncmp(p, trusted, sizeof trusted - 1) == 0)
		p += sizeof trusted - 1;
	if (strncmp(p, crypt, sizeof crypt - 1) == 0) {
		is_crypt = 1;
		p += sizeof crypt - 1;
	} else if (strncmp(p, integ, sizeof integ - 1) == 0) {
		is_crypt = 0;
		p += sizeof integ - 1;
	} else if (strncmp(p, verity, sizeof verity - 1) == 0) {
		return kmsg_parse_verity(text, p + sizeof verity - 1, dm_name,
		    dm_name_len, sector, what, what_len);
	} else
		return 0;

	name = p;
	while (kmsg_name_char(*p))
		p++;
	nlen = (size_t)(p - name);
	if (nlen == 0 || nlen >= dm_name_len || nlen >= KMSG_NAME_MAX ||
	    strncmp(p, ": ", 2) != 0)
		return 0;
	p += 2;

	if (is_crypt) {
		if (strncmp(p, aead, sizeof aead - 1) != 0)
			return 0;
		p += sizeof aead - 1;
		if (strncmp(p, ", sector ", 9) == 0)
			sec = kmsg_number(p + 9, 10);
	} else {
		if (strncmp(p, csum, sizeof csum - 1) != 0)
			return 0;
		p += sizeof csum - 1;
		if (strncmp(p, " at sector 0x", 13) == 0)
			sec = kmsg_number(p + 13, 16);
	}

	memcpy(dm_name, name, nlen);
	dm_name[nlen] = '\0';
	*sector = sec;
	kmsg_sanitize(text, what, what_len);
	return 1;
}

/*
 * Maps a device number "MAJ:MIN" (dm-verity's data device) to the name
 * of the dm device that holds it, through SYSFS_ROOT/dev/block/MAJ:MIN/
 * holders; -1 when there is none (or not exactly one).
 */
static int
kmsg_holder_name(const char *sysfs_root, const char *devno, char *name,
    size_t name_len)
{
	char path[PATH_MAX], kname[KMSG_NAME_MAX] = "";
	struct dirent *de;
	size_t i;
	int len, n = 0;
	DIR *d;

	for (i = 0; devno[i] != '\0'; i++) {
		if ((devno[i] < '0' || devno[i] > '9') && devno[i] != ':')
			return -1;
	}
	len = snprintf(path, sizeof path, "%s/dev/block/%s/holders",
	    sysfs_root, devno);
	if (len < 0 || (size_t)len >= sizeof path ||
	    (d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n++ == 0 && strlen(de->d_name) < sizeof kname)
			memcpy(kname, de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	if (n != 1)
		return -1;
	return kmsg_dm_name(sysfs_root, kname, name, name_len);
}

int
kmsg_dm_name(const char *sysfs_root, const char *kname, char *name,
    size_t name_len)
{
	char path[PATH_MAX], buf[KMSG_NAME_MAX + 1];
	size_t i;
	ssize_t n;
	int fd, len;

	if (strncmp(kname, "dm-", 3) != 0 || kname[3] == '\0' ||
	    strlen(kname) > 3 + 9)
		return -1;
	for (i = 3; kname[i] != '\0'; i++) {
		if (kname[i] < '0' || kname[i] > '9')
			return -1;
	}
	len = snprintf(path, sizeof path, "%s/block/%s/dm/name", sysfs_root,
	    kname);
	if (len < 0 || (size_t)len >= sizeof path)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return -1;
	do
		n = read(fd, buf, sizeof buf);
	while (n == -1 && errno == EINTR);
	close(fd);
	/* A read that fills buf is a name too long for device-mapper. */
	if (n <= 0 || (size_t)n >= sizeof buf)
		return -1;
	if (buf[n - 1] == '\n')
		n--;
	if (n == 0 || (size_t)n >= name_len)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		if (buf[i] < 0x21 || buf[i] > 0x7e || buf[i] == '/')
			return -1;
	}
	memcpy(name, buf, (size_t)n);
	name[n] = '\0';
	return 0;
}

/* Stops reading after an error that the next read would repeat. */
static void
kmsg_stop(struct kmsg *km)
{
	loop_watch_del(km->loop, &km->w);
}

/*
 * Notes that the kernel overwrote records before cmld read them: an
 * integrity error may have been among them.  Warns at most once a minute.
 */
static void
kmsg_lost(struct kmsg *km)
{
	long long now = loop_now_ms();

	km->lost++;
	if (km->lost_logged_ms != -1 &&
	    now - km->lost_logged_ms < KMSG_LOST_LOG_MS)
		return;
	log_warnx("kernel log records lost (%llu time%s): integrity errors "
	    "among them were not seen", km->lost, km->lost == 1 ? "" : "s");
	km->lost = 0;
	km->lost_logged_ms = now;
}

/* Passes one record on when it is an integrity error. */
static void
kmsg_record(struct kmsg *km, const char *rec, size_t len)
{
	char kname[KMSG_NAME_MAX], name[KMSG_NAME_MAX], what[KMSG_WHAT_MAX];
	long long sector;

	if (kmsg_parse(rec, len, kname, sizeof kname, &sector, what,
	    sizeof what) != 1)
		return;
	if (kmsg_dm_name(km->sysfs_root, kname, name, sizeof name) == -1 &&
	    kmsg_holder_name(km->sysfs_root, kname, name, sizeof name) == -1) {
		/* A name, not dm-N, or a device gone already: as printed. */
		memcpy(name, kname, sizeof name);
	}
	km->cb(km->arg, name, sector, what);
}

/* Reads what the kernel logged since, a bounded batch per wake-up. */
static void
kmsg_readable(struct loop_watch *w, unsigned int events)
{
	struct kmsg *km = w->arg;
	ssize_t n;
	int i;

	(void)events;
	for (i = 0; i < KMSG_BATCH; i++) {
		n = read(km->fd, km->buf, sizeof km->buf);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EPIPE) {
				kmsg_lost(km);
				continue;
			}
			log_warn("cannot read the kernel log; integrity errors "
			    "are no longer seen");
			kmsg_stop(km);
			return;
		}
		if (n == 0) {
			log_warnx("the kernel log ended; integrity errors are "
			    "no longer seen");
			kmsg_stop(km);
			return;
		}
		kmsg_record(km, km->buf, (size_t)n);
	}
	/* More is left: the watch is level-triggered and fires again. */
}

struct kmsg *
kmsg_open_fd(struct loop *loop, int fd, const char *sysfs_root,
    kmsg_integrity_cb cb, void *arg)
{
	struct kmsg *km;

	km = xcalloc(1, sizeof *km);
	km->loop = loop;
	km->fd = fd;
	km->sysfs_root = xstrdup(sysfs_root);
	km->cb = cb;
	km->arg = arg;
	km->lost_logged_ms = -1;
	if (loop_watch_add(loop, &km->w, fd, EPOLLIN, kmsg_readable, km) ==
	    -1) {
		close(fd);
		free(km->sysfs_root);
		free(km);
		return NULL;
	}
	return km;
}

struct kmsg *
kmsg_open(struct loop *loop, kmsg_integrity_cb cb, void *arg)
{
	struct kmsg *km = NULL;
	int fd;

	if ((fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) !=
	    -1) {
		/* Only what comes from now on: older errors were seen. */
		if (lseek(fd, 0, SEEK_END) == -1)
			close(fd);
		else
			km = kmsg_open_fd(loop, fd, "/sys", cb, arg);
	}
	if (km == NULL)
		log_warn("cannot watch the kernel log /dev/kmsg; integrity "
		    "errors of encrypted volumes will not be seen");
	return km;
}

void
kmsg_close(struct kmsg *km)
{
	if (km == NULL)
		return;
	loop_watch_del(km->loop, &km->w);
	close(km->fd);
	free(km->sysfs_root);
	free(km);
}
