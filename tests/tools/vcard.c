/*
 * vcard: a virtual OpenPGP card (application version 3.4) that plugs into
 * a real pcscd through the vpcd reader (vsmartcard), so that tests drive
 * scd, gpg and OpenSC against the card standard itself:
 *
 *   vcard --port PORT --state FILE [--serial HEX8] [--remove-on INS]
 *       [--delay-ms N]
 *
 * The card connects to vpcd at 127.0.0.1:PORT (retrying until it
 * accepts; a closed connection is a removal, the next connection an
 * insertion).  Every message both ways is a 16-bit big-endian length and
 * that many bytes; a 1-byte message from vpcd is a control byte (power
 * off, power on, reset, get ATR), a longer one a command APDU.
 *
 * The whole card (PINs, retry counters, keys, data objects) lives in FILE,
 * written atomically after every change, so that a restart is the same
 * card inserted again.  The verified states of PW1 and PW3 live only in
 * memory and go at power off, reset and removal.
 *
 * Implemented: SELECT, GET DATA, PUT DATA, VERIFY, CHANGE REFERENCE DATA,
 * RESET RETRY COUNTER, GENERATE ASYMMETRIC KEY PAIR (NIST P-256 in all
 * three slots: ECDSA for signing and authentication, ECDH for
 * decryption), PSO:COMPUTE DIGITAL SIGNATURE, PSO:DECIPHER, INTERNAL
 * AUTHENTICATE, GET CHALLENGE, SELECT DATA, TERMINATE DF, ACTIVATE FILE,
 * GET RESPONSE; short and extended APDUs and command chaining.
 *
 * A new card has the AID D2 76 00 01 24 01 03 04 FF 7F (manufacturer FF7F,
 * of the range for test cards) and the serial, PW1 123456, PW3 12345678,
 * no resetting code (its counter 0), NIST P-256 as every slot's algorithm
 * and no keys.  A wrong PIN answers 63Cx with the tries left (63C0 for the
 * one that blocks it), a blocked one 6983, a right one sets the counter
 * back to 3.
 *
 * --remove-on INS closes the connection when a command with that
 * instruction byte arrives, without answering it (the card pulled out in
 * the middle of a transaction), and ends the program.  --delay-ms N sleeps
 * before answering each APDU.  SIGTERM ends the program with status 0.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* status words */
#define SW_OK 0x9000
#define SW_TERMINATED 0x6285
#define SW_MEMORY 0x6581
#define SW_WRONG_LENGTH 0x6700
#define SW_LAST_IN_CHAIN 0x6883
#define SW_SECURITY 0x6982
#define SW_BLOCKED 0x6983
#define SW_CONDITIONS 0x6985
#define SW_WRONG_DATA 0x6A80
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_NOT_FOUND 0x6A88
#define SW_WRONG_P1P2 0x6B00
#define SW_WRONG_INS 0x6D00
#define SW_WRONG_CLA 0x6E00

#define VCARD_PIN_MAX 127
#define VCARD_TRIES 3
/* the longest command (after chaining) and response the card handles */
#define VCARD_CMD_MAX 2048
#define VCARD_RESP_MAX 2048
/* the longest login data and URL, as extended capabilities announce */
#define VCARD_DO_MAX 254
#define VCARD_DER_MAX 512

enum { KEY_SIG, KEY_DEC, KEY_AUT, KEY_N };

/* the OID of NIST P-256, the curve of every key this card makes */
static const unsigned char p256_oid[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
	0x01, 0x07 };

/*
 * The historical bytes: category 00; card service data 31 C5 (selection
 * by full and partial DF name, EF.DIR and EF.ATR/INFO present); card
 * capabilities 73 C0 01 C0 (command chaining, extended Lc and Le); the
 * life cycle status 05 and 90 00.
 */
static const unsigned char hist[] = { 0x00, 0x31, 0xc5, 0x73, 0xc0, 0x01,
	0xc0, 0x05, 0x90, 0x00 };

struct pin {
	unsigned char v[VCARD_PIN_MAX];
	size_t len;
	unsigned char tries;
};

struct key {
	unsigned char attr[16];
	size_t attrlen;
	unsigned char fpr[20];
	unsigned char cafpr[20];
	unsigned char time[4];
	unsigned char status; /* 00 none, 01 generated, 02 imported */
	unsigned char pub[65];
	unsigned char der[VCARD_DER_MAX]; /* the private key, DER */
	size_t derlen;
};

/* What the state file keeps. */
struct card_state {
	unsigned char serial[4];
	unsigned char terminated;
	struct pin pw1, rc, pw3;
	unsigned char pw1_validity; /* C4 byte 1 */
	unsigned char sigcount[3];
	struct key key[KEY_N];
	unsigned char name[39];
	size_t namelen;
	unsigned char lang[8];
	size_t langlen;
	unsigned char sex[1];
	size_t sexlen;
	unsigned char url[VCARD_DO_MAX];
	size_t urllen;
	unsigned char login[VCARD_DO_MAX];
	size_t loginlen;
};

struct vcard {
	struct card_state s;
	const char *statefile;
	/* volatile state: gone at power off, reset and removal */
	int v81, v82, v83;
	unsigned char chain[VCARD_CMD_MAX];
	size_t chainlen;
	int chaining;
	unsigned char chain_hdr[4];
	unsigned char pending[VCARD_RESP_MAX];
	size_t pendlen, pendoff;
};

/* A response being built: data, then the status word. */
struct resp {
	unsigned char d[VCARD_RESP_MAX];
	size_t len;
	int overflow;
};

/* A parsed command APDU. */
struct apdu {
	unsigned char cla, ins, p1, p2;
	const unsigned char *data;
	size_t lc;
	size_t ne; /* bytes the reader accepts */
	int le_present;
};

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vcard: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* --- the state file ------------------------------------------------------- */

/* One member of the state file: a byte string of a fixed or bounded size. */
struct field {
	char name[16];
	unsigned char *buf;
	size_t *len; /* NULL: exactly max bytes */
	size_t max;
};

#define FIELDS_MAX 48

static size_t
state_fields(struct card_state *s, struct field *f)
{
	static const char *kname[KEY_N] = { "sig", "dec", "aut" };
	size_t n = 0;
	int k;

#define VAR(nm, b, l, m) \
	do { \
		snprintf(f[n].name, sizeof f[n].name, "%s", nm); \
		f[n].buf = (b); \
		f[n].len = (l); \
		f[n].max = (m); \
		n++; \
	} while (0)
#define FIX(nm, b, m) VAR(nm, b, NULL, m)
	FIX("serial", s->serial, 4);
	FIX("terminated", &s->terminated, 1);
	VAR("pw1", s->pw1.v, &s->pw1.len, VCARD_PIN_MAX);
	FIX("pw1_tries", &s->pw1.tries, 1);
	VAR("rc", s->rc.v, &s->rc.len, VCARD_PIN_MAX);
	FIX("rc_tries", &s->rc.tries, 1);
	VAR("pw3", s->pw3.v, &s->pw3.len, VCARD_PIN_MAX);
	FIX("pw3_tries", &s->pw3.tries, 1);
	FIX("pw1_validity", &s->pw1_validity, 1);
	FIX("sigcount", s->sigcount, 3);
	VAR("name", s->name, &s->namelen, sizeof s->name);
	VAR("lang", s->lang, &s->langlen, sizeof s->lang);
	VAR("sex", s->sex, &s->sexlen, sizeof s->sex);
	VAR("url", s->url, &s->urllen, sizeof s->url);
	VAR("login", s->login, &s->loginlen, sizeof s->login);
	for (k = 0; k < KEY_N; k++) {
		char nm[16];
		struct key *y = &s->key[k];

		snprintf(nm, sizeof nm, "%s_attr", kname[k]);
		VAR(nm, y->attr, &y->attrlen, sizeof y->attr);
		snprintf(nm, sizeof nm, "%s_fpr", kname[k]);
		FIX(nm, y->fpr, 20);
		snprintf(nm, sizeof nm, "%s_cafpr", kname[k]);
		FIX(nm, y->cafpr, 20);
		snprintf(nm, sizeof nm, "%s_time", kname[k]);
		FIX(nm, y->time, 4);
		snprintf(nm, sizeof nm, "%s_status", kname[k]);
		FIX(nm, &y->status, 1);
		snprintf(nm, sizeof nm, "%s_pub", kname[k]);
		FIX(nm, y->pub, 65);
		snprintf(nm, sizeof nm, "%s_der", kname[k]);
		VAR(nm, y->der, &y->derlen, sizeof y->der);
	}
#undef FIX
#undef VAR
	return n;
}

/* Sets the card to its factory state, keeping the serial number. */
static void
card_factory(struct card_state *s)
{
	unsigned char serial[4];
	int k;

	memcpy(serial, s->serial, sizeof serial);
	OPENSSL_cleanse(s, sizeof *s);
	memcpy(s->serial, serial, sizeof serial);
	memcpy(s->pw1.v, "123456", 6);
	s->pw1.len = 6;
	s->pw1.tries = VCARD_TRIES;
	memcpy(s->pw3.v, "12345678", 8);
	s->pw3.len = 8;
	s->pw3.tries = VCARD_TRIES;
	/* no resetting code: its counter is 0 until one is set */
	s->rc.tries = 0;
	for (k = 0; k < KEY_N; k++) {
		struct key *y = &s->key[k];

		y->attr[0] = k == KEY_DEC ? 0x12 : 0x13; /* ECDH : ECDSA */
		memcpy(y->attr + 1, p256_oid, sizeof p256_oid);
		y->attrlen = 1 + sizeof p256_oid;
	}
}

/* Reads the state file; 1 when it does not exist, -1 when it is broken. */
static int
state_load(struct vcard *vc)
{
	struct field f[FIELDS_MAX];
	size_t nf, i, j;
	char line[2 * VCARD_DER_MAX + 64];
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(vc->statefile, "r")) == NULL) {
		if (errno == ENOENT)
			return 1;
		warnx("cannot open %s: %s", vc->statefile, strerror(errno));
		return -1;
	}
	nf = state_fields(&vc->s, f);
	while (fgets(line, sizeof line, fp) != NULL) {
		char *sp, *hex;
		size_t hl;

		line[strcspn(line, "\n")] = '\0';
		if ((sp = strchr(line, ' ')) == NULL) {
			rc = -1;
			break;
		}
		*sp = '\0';
		hex = sp + 1;
		hl = strlen(hex);
		for (i = 0; i < nf; i++)
			if (strcmp(f[i].name, line) == 0)
				break;
		if (i == nf || hl % 2 != 0 || hl / 2 > f[i].max ||
		    (f[i].len == NULL && hl / 2 != f[i].max)) {
			rc = -1;
			break;
		}
		for (j = 0; j < hl / 2; j++) {
			int hi = OPENSSL_hexchar2int(hex[2 * j]);
			int lo = OPENSSL_hexchar2int(hex[2 * j + 1]);

			if (hi < 0 || lo < 0) {
				rc = -1;
				break;
			}
			f[i].buf[j] = (unsigned char)(hi << 4 | lo);
		}
		if (f[i].len != NULL)
			*f[i].len = hl / 2;
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(fp);
	if (rc != 0)
		warnx("%s is not a card's state", vc->statefile);
	return rc;
}

/* Writes the state file: a temporary file, synced, renamed over. */
static int
state_save(struct vcard *vc)
{
	struct field f[FIELDS_MAX];
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	size_t nf, i, j;
	FILE *fp;
	int fd, dfd, ok;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", vc->statefile) >=
	    (int)sizeof tmp)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1) {
		warnx("cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	nf = state_fields(&vc->s, f);
	for (i = 0; i < nf; i++) {
		size_t n = f[i].len != NULL ? *f[i].len : f[i].max;

		fprintf(fp, "%s ", f[i].name);
		for (j = 0; j < n; j++)
			fprintf(fp, "%02x", f[i].buf[j]);
		fputc('\n', fp);
	}
	ok = fflush(fp) == 0 && fsync(fd) == 0;
	if (fclose(fp) != 0)
		ok = 0;
	if (!ok || rename(tmp, vc->statefile) == -1) {
		warnx("cannot write %s: %s", vc->statefile, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", vc->statefile);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* --- responses ------------------------------------------------------------ */

static void
resp_add(struct resp *r, const void *p, size_t n)
{
	if (n > sizeof r->d - r->len) {
		r->overflow = 1;
		return;
	}
	memcpy(r->d + r->len, p, n);
	r->len += n;
}

/* Appends a tag (one or two bytes) and a BER length. */
static void
resp_tl(struct resp *r, unsigned int tag, size_t len)
{
	unsigned char b[6];
	size_t n = 0;

	if (tag > 0xff)
		b[n++] = (unsigned char)(tag >> 8);
	b[n++] = (unsigned char)tag;
	if (len < 0x80)
		b[n++] = (unsigned char)len;
	else if (len < 0x100) {
		b[n++] = 0x81;
		b[n++] = (unsigned char)len;
	} else {
		b[n++] = 0x82;
		b[n++] = (unsigned char)(len >> 8);
		b[n++] = (unsigned char)len;
	}
	resp_add(r, b, n);
}

static void
resp_tlv(struct resp *r, unsigned int tag, const void *v, size_t len)
{
	resp_tl(r, tag, len);
	resp_add(r, v, len);
}

/*
 * Wraps everything from offset start on in a constructed tag: the value
 * was appended first, its tag and length move in front of it.
 */
static void
resp_wrap(struct resp *r, size_t start, unsigned int tag)
{
	struct resp hdr;
	size_t vlen = r->len - start;

	memset(&hdr, 0, sizeof hdr);
	resp_tl(&hdr, tag, vlen);
	if (r->overflow || hdr.len > sizeof r->d - r->len) {
		r->overflow = 1;
		return;
	}
	memmove(r->d + start + hdr.len, r->d + start, vlen);
	memcpy(r->d + start, hdr.d, hdr.len);
	r->len += hdr.len;
}

/* --- data objects --------------------------------------------------------- */

static void
card_aid(struct vcard *vc, unsigned char aid[16])
{
	static const unsigned char head[] = { 0xd2, 0x76, 0x00, 0x01, 0x24,
		0x01, 0x03, 0x04, 0xff, 0x7f };

	/* RID, PIX: application 01, version 3.4, manufacturer FF7F (a test
	 * card: FF00..FFFE are not assigned), serial, RFU */
	memcpy(aid, head, sizeof head);
	memcpy(aid + 10, vc->s.serial, 4);
	aid[14] = aid[15] = 0;
}

static void
do_pw_status(struct vcard *vc, struct resp *r)
{
	unsigned char b[7];

	b[0] = vc->s.pw1_validity;
	b[1] = b[2] = b[3] = VCARD_PIN_MAX;
	b[4] = vc->s.pw1.tries;
	b[5] = vc->s.rc.tries;
	b[6] = vc->s.pw3.tries;
	resp_add(r, b, sizeof b);
}

static void
do_ext_caps(struct resp *r)
{
	/* GET CHALLENGE, PW1 status changeable, algorithm attributes
	 * changeable; no secure messaging; challenge up to 255 bytes; no
	 * cardholder certificate; special DOs up to 254 bytes; no PIN block
	 * format 2; no MSE */
	static const unsigned char c0[] = { 0x54, 0x00, 0x00, 0xff, 0x00, 0x00,
		0x00, VCARD_DO_MAX, 0x00, 0x00 };

	resp_add(r, c0, sizeof c0);
}

static void
do_ext_length(struct resp *r)
{
	static const unsigned char info[] = { 0x02, 0x02, VCARD_CMD_MAX >> 8,
		VCARD_CMD_MAX & 0xff, 0x02, 0x02, VCARD_RESP_MAX >> 8,
		VCARD_RESP_MAX & 0xff };

	resp_add(r, info, sizeof info);
}

static void
do_fprs(struct vcard *vc, struct resp *r, int ca)
{
	int k;

	for (k = 0; k < KEY_N; k++)
		resp_add(r, ca ? vc->s.key[k].cafpr : vc->s.key[k].fpr, 20);
}

static void
do_times(struct vcard *vc, struct resp *r)
{
	int k;

	for (k = 0; k < KEY_N; k++)
		resp_add(r, vc->s.key[k].time, 4);
}

static void
do_key_info(struct vcard *vc, struct resp *r)
{
	int k;

	for (k = 0; k < KEY_N; k++) {
		unsigned char b[2] = { (unsigned char)(k + 1),
			vc->s.key[k].status };

		resp_add(r, b, 2);
	}
}

static void
do_cardholder(struct vcard *vc, struct resp *r)
{
	resp_tlv(r, 0x5b, vc->s.name, vc->s.namelen);
	resp_tlv(r, 0x5f2d, vc->s.lang, vc->s.langlen);
	resp_tlv(r, 0x5f35, vc->s.sex, vc->s.sexlen);
}

static void
do_app_related(struct vcard *vc, struct resp *r)
{
	unsigned char aid[16];
	size_t start, dstart;
	int k;

	card_aid(vc, aid);
	resp_tlv(r, 0x4f, aid, sizeof aid);
	resp_tlv(r, 0x5f52, hist, sizeof hist);
	start = r->len;
	do_ext_length(r);
	resp_wrap(r, start, 0x7f66);
	dstart = r->len;
	start = r->len;
	do_ext_caps(r);
	resp_wrap(r, start, 0xc0);
	for (k = 0; k < KEY_N; k++)
		resp_tlv(r, 0xc1 + k, vc->s.key[k].attr, vc->s.key[k].attrlen);
	start = r->len;
	do_pw_status(vc, r);
	resp_wrap(r, start, 0xc4);
	start = r->len;
	do_fprs(vc, r, 0);
	resp_wrap(r, start, 0xc5);
	start = r->len;
	do_fprs(vc, r, 1);
	resp_wrap(r, start, 0xc6);
	start = r->len;
	do_times(vc, r);
	resp_wrap(r, start, 0xcd);
	start = r->len;
	do_key_info(vc, r);
	resp_wrap(r, start, 0xde);
	resp_wrap(r, dstart, 0x73);
}

static int
cmd_get_data(struct vcard *vc, const struct apdu *a, struct resp *r)
{
	unsigned int tag = (unsigned int)a->p1 << 8 | a->p2;
	unsigned char aid[16];

	switch (tag) {
	case 0x004f:
		card_aid(vc, aid);
		resp_add(r, aid, sizeof aid);
		break;
	case 0x005e:
		resp_add(r, vc->s.login, vc->s.loginlen);
		break;
	case 0x5f50:
		resp_add(r, vc->s.url, vc->s.urllen);
		break;
	case 0x5f52:
		resp_add(r, hist, sizeof hist);
		break;
	case 0x0065:
		do_cardholder(vc, r);
		break;
	case 0x005b:
		resp_add(r, vc->s.name, vc->s.namelen);
		break;
	case 0x5f2d:
		resp_add(r, vc->s.lang, vc->s.langlen);
		break;
	case 0x5f35:
		resp_add(r, vc->s.sex, vc->s.sexlen);
		break;
	case 0x006e:
		do_app_related(vc, r);
		break;
	case 0x007a:
		resp_tlv(r, 0x93, vc->s.sigcount, 3);
		break;
	case 0x0093:
		resp_add(r, vc->s.sigcount, 3);
		break;
	case 0x7f66:
		do_ext_length(r);
		break;
	case 0x7f21:
		/* no cardholder certificate: an empty one */
		break;
	case 0x00c0:
		do_ext_caps(r);
		break;
	case 0x00c1:
	case 0x00c2:
	case 0x00c3:
		resp_add(r, vc->s.key[tag - 0xc1].attr,
		    vc->s.key[tag - 0xc1].attrlen);
		break;
	case 0x00c4:
		do_pw_status(vc, r);
		break;
	case 0x00c5:
		do_fprs(vc, r, 0);
		break;
	case 0x00c6:
		do_fprs(vc, r, 1);
		break;
	case 0x00cd:
		do_times(vc, r);
		break;
	case 0x00de:
		do_key_info(vc, r);
		break;
	default:
		return SW_NOT_FOUND;
	}
	return r->overflow ? SW_MEMORY : SW_OK;
}

/* --- PINs ----------------------------------------------------------------- */

/* Compares in time independent of where the first difference is. */
static int
pin_equal(const struct pin *p, const unsigned char *v, size_t len)
{
	return len == p->len && CRYPTO_memcmp(p->v, v, len) == 0;
}

/* The answer to a wrong PIN: 63Cx while tries remain, else blocked. */
static int
pin_wrong(struct vcard *vc, struct pin *p)
{
	if (p->tries > 0)
		p->tries--;
	if (state_save(vc) == -1)
		return SW_MEMORY;
	return 0x63c0 | p->tries;
}

/* Sets a PIN's counter back to its maximum after a right PIN. */
static int
pin_right(struct vcard *vc, struct pin *p)
{
	if (p->tries == VCARD_TRIES)
		return SW_OK;
	p->tries = VCARD_TRIES;
	return state_save(vc) == -1 ? SW_MEMORY : SW_OK;
}

static void
pin_set(struct pin *p, const unsigned char *v, size_t len)
{
	OPENSSL_cleanse(p->v, sizeof p->v);
	memcpy(p->v, v, len);
	p->len = len;
	p->tries = VCARD_TRIES;
}

/* The shortest PIN of each reference: PW1 6, PW3 and resetting code 8. */
static size_t
pin_min(int ref)
{
	return ref == 0x81 || ref == 0x82 ? 6 : 8;
}

static int *
verified_flag(struct vcard *vc, int ref)
{
	switch (ref) {
	case 0x81:
		return &vc->v81;
	case 0x82:
		return &vc->v82;
	case 0x83:
		return &vc->v83;
	}
	return NULL;
}

static int
cmd_verify(struct vcard *vc, const struct apdu *a)
{
	struct pin *p;
	int *flag;

	if ((flag = verified_flag(vc, a->p2)) == NULL)
		return SW_WRONG_P1P2;
	p = a->p2 == 0x83 ? &vc->s.pw3 : &vc->s.pw1;
	if (a->p1 == 0xff) {
		/* reset the verified state */
		if (a->lc != 0)
			return SW_WRONG_LENGTH;
		*flag = 0;
		return SW_OK;
	}
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->lc == 0) {
		/* a status check: verified, or the tries left */
		if (*flag)
			return SW_OK;
		return p->tries == 0 ? SW_BLOCKED : 0x63c0 | p->tries;
	}
	if (p->tries == 0)
		return SW_BLOCKED;
	if (!pin_equal(p, a->data, a->lc)) {
		*flag = 0;
		return pin_wrong(vc, p);
	}
	*flag = 1;
	return pin_right(vc, p);
}

/*
 * Checks that data begins with the PIN p (the rest is the new one) and
 * that the new one has an allowed length; counts a wrong one.  Returns
 * SW_OK with *newp and *newlen set, or the answer.
 */
static int
pin_split(struct vcard *vc, struct pin *p, const struct apdu *a, size_t min,
    const unsigned char **newp, size_t *newlen)
{
	if (p->tries == 0)
		return SW_BLOCKED;
	if (a->lc <= p->len ||
	    CRYPTO_memcmp(p->v, a->data, p->len) != 0)
		return pin_wrong(vc, p);
	*newp = a->data + p->len;
	*newlen = a->lc - p->len;
	if (*newlen < min || *newlen > VCARD_PIN_MAX) {
		/* the old one was right all the same */
		pin_right(vc, p);
		return SW_WRONG_DATA;
	}
	return SW_OK;
}

static int
cmd_change_pin(struct vcard *vc, const struct apdu *a)
{
	struct pin *p;
	const unsigned char *np;
	size_t nl;
	int sw;

	if (a->p1 != 0x00 || (a->p2 != 0x81 && a->p2 != 0x83))
		return SW_WRONG_P1P2;
	p = a->p2 == 0x83 ? &vc->s.pw3 : &vc->s.pw1;
	if ((sw = pin_split(vc, p, a, pin_min(a->p2), &np, &nl)) != SW_OK)
		return sw;
	pin_set(p, np, nl);
	return state_save(vc) == -1 ? SW_MEMORY : SW_OK;
}

static int
cmd_reset_retry(struct vcard *vc, const struct apdu *a)
{
	const unsigned char *np;
	size_t nl;
	int sw;

	if (a->p2 != 0x81)
		return SW_WRONG_P1P2;
	switch (a->p1) {
	case 0x00:
		/* with the resetting code */
		if (vc->s.rc.len == 0)
			return SW_BLOCKED;
		sw = pin_split(vc, &vc->s.rc, a, pin_min(0x81), &np, &nl);
		if (sw != SW_OK)
			return sw;
		break;
	case 0x02:
		/* after PW3 */
		if (!vc->v83)
			return SW_SECURITY;
		if (a->lc < pin_min(0x81) || a->lc > VCARD_PIN_MAX)
			return SW_WRONG_DATA;
		np = a->data;
		nl = a->lc;
		break;
	default:
		return SW_WRONG_P1P2;
	}
	pin_set(&vc->s.pw1, np, nl);
	if (a->p1 == 0x00)
		vc->s.rc.tries = VCARD_TRIES;
	return state_save(vc) == -1 ? SW_MEMORY : SW_OK;
}

/* --- PUT DATA ------------------------------------------------------------- */

/* Says whether attr are algorithm attributes this card has for slot k. */
static int
attr_supported(int k, const unsigned char *attr, size_t len)
{
	unsigned char alg = k == KEY_DEC ? 0x12 : 0x13;

	/* the algorithm, the curve's OID, and the optional import format
	 * byte (00 standard, FF with the public key) */
	if (len != 1 + sizeof p256_oid && len != 2 + sizeof p256_oid)
		return 0;
	if (attr[0] != alg || memcmp(attr + 1, p256_oid, sizeof p256_oid) != 0)
		return 0;
	return len == 1 + sizeof p256_oid || attr[len - 1] == 0x00 ||
	    attr[len - 1] == 0xff;
}

/* Stores data in a variable-length object of at most max bytes. */
static int
put_var(unsigned char *buf, size_t *len, size_t max, const struct apdu *a)
{
	if (a->lc > max)
		return SW_WRONG_LENGTH;
	memcpy(buf, a->data, a->lc);
	*len = a->lc;
	return SW_OK;
}

static int
put_fixed(unsigned char *buf, size_t n, const struct apdu *a)
{
	if (a->lc != n)
		return SW_WRONG_LENGTH;
	memcpy(buf, a->data, n);
	return SW_OK;
}

static int
cmd_put_data(struct vcard *vc, const struct apdu *a)
{
	unsigned int tag = (unsigned int)a->p1 << 8 | a->p2;
	struct card_state *s = &vc->s;
	struct key *y;
	int sw;

	if (!vc->v83)
		return SW_SECURITY;
	switch (tag) {
	case 0x005b:
		sw = put_var(s->name, &s->namelen, sizeof s->name, a);
		break;
	case 0x005e:
		sw = put_var(s->login, &s->loginlen, sizeof s->login, a);
		break;
	case 0x5f2d:
		sw = put_var(s->lang, &s->langlen, sizeof s->lang, a);
		break;
	case 0x5f35:
		sw = put_var(s->sex, &s->sexlen, sizeof s->sex, a);
		break;
	case 0x5f50:
		sw = put_var(s->url, &s->urllen, sizeof s->url, a);
		break;
	case 0x00c1:
	case 0x00c2:
	case 0x00c3:
		y = &s->key[tag - 0xc1];
		if (!attr_supported((int)(tag - 0xc1), a->data, a->lc))
			return SW_WRONG_DATA;
		sw = put_var(y->attr, &y->attrlen, sizeof y->attr, a);
		break;
	case 0x00c4:
		if (a->lc != 1 || a->data[0] > 1)
			return a->lc != 1 ? SW_WRONG_LENGTH : SW_WRONG_DATA;
		s->pw1_validity = a->data[0];
		sw = SW_OK;
		break;
	case 0x00c7:
	case 0x00c8:
	case 0x00c9:
		sw = put_fixed(s->key[tag - 0xc7].fpr, 20, a);
		break;
	case 0x00ca:
	case 0x00cb:
	case 0x00cc:
		sw = put_fixed(s->key[tag - 0xca].cafpr, 20, a);
		break;
	case 0x00ce:
	case 0x00cf:
	case 0x00d0:
		sw = put_fixed(s->key[tag - 0xce].time, 4, a);
		break;
	case 0x00d3:
		/* the resetting code; empty removes it */
		if (a->lc == 0) {
			OPENSSL_cleanse(&s->rc, sizeof s->rc);
			sw = SW_OK;
			break;
		}
		if (a->lc < pin_min(0x83) || a->lc > VCARD_PIN_MAX)
			return SW_WRONG_DATA;
		pin_set(&s->rc, a->data, a->lc);
		sw = SW_OK;
		break;
	default:
		return SW_NOT_FOUND;
	}
	if (sw != SW_OK)
		return sw;
	return state_save(vc) == -1 ? SW_MEMORY : SW_OK;
}

/* --- keys ----------------------------------------------------------------- */

/* The slot a control reference template names (B6, B8, A4), or -1. */
static int
crt_slot(const struct apdu *a)
{
	/* the CRT, empty; 3.4 allows a key reference 84 01 xx too */
	if (a->lc != 2 && !(a->lc == 5 && a->data[1] == 3 &&
	    a->data[2] == 0x84 && a->data[3] == 1))
		return -1;
	if (a->lc == 2 && a->data[1] != 0)
		return -1;
	switch (a->data[0]) {
	case 0xb6:
		return KEY_SIG;
	case 0xb8:
		return KEY_DEC;
	case 0xa4:
		return KEY_AUT;
	}
	return -1;
}

static void
resp_pubkey(struct resp *r, const struct key *y)
{
	size_t start = r->len;

	resp_tlv(r, 0x86, y->pub, sizeof y->pub);
	resp_wrap(r, start, 0x7f49);
}

/* Makes a P-256 key pair in slot y. */
static int
key_generate(struct key *y)
{
	EVP_PKEY *pk;
	unsigned char *p;
	size_t publen = 0;
	int len, ok = 0;

	if ((pk = EVP_EC_gen("P-256")) == NULL)
		return -1;
	if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY,
	    y->pub, sizeof y->pub, &publen) != 1 || publen != sizeof y->pub ||
	    y->pub[0] != 0x04)
		goto out;
	if ((len = i2d_PrivateKey(pk, NULL)) <= 0 || len > VCARD_DER_MAX)
		goto out;
	OPENSSL_cleanse(y->der, sizeof y->der);
	p = y->der;
	if (i2d_PrivateKey(pk, &p) != len)
		goto out;
	y->derlen = (size_t)len;
	y->status = 0x01;
	ok = 1;
out:
	EVP_PKEY_free(pk);
	return ok ? 0 : -1;
}

static EVP_PKEY *
key_load(const struct key *y)
{
	const unsigned char *p = y->der;

	if (y->status == 0 || y->derlen == 0)
		return NULL;
	return d2i_AutoPrivateKey(NULL, &p, (long)y->derlen);
}

static int
cmd_generate(struct vcard *vc, const struct apdu *a, struct resp *r)
{
	struct key *y;
	int k;

	if (a->p2 != 0x00 || (a->p1 != 0x80 && a->p1 != 0x81))
		return SW_WRONG_P1P2;
	if ((k = crt_slot(a)) < 0)
		return SW_WRONG_DATA;
	y = &vc->s.key[k];
	if (a->p1 == 0x81) {
		if (y->status == 0)
			return SW_NOT_FOUND;
		resp_pubkey(r, y);
		return SW_OK;
	}
	if (!vc->v83)
		return SW_SECURITY;
	if (key_generate(y) == -1)
		return SW_MEMORY;
	/* a new key has no fingerprint and time until the host sets them */
	memset(y->fpr, 0, sizeof y->fpr);
	memset(y->time, 0, sizeof y->time);
	if (k == KEY_SIG)
		memset(vc->s.sigcount, 0, sizeof vc->s.sigcount);
	if (state_save(vc) == -1)
		return SW_MEMORY;
	resp_pubkey(r, y);
	return SW_OK;
}

/*
 * Reads a BER length at *p (at most end); returns it, or -1 when it does
 * not fit in what is left.
 */
static long
ber_len(const unsigned char **p, const unsigned char *end)
{
	size_t n;

	if (*p >= end)
		return -1;
	if (**p < 0x80) {
		n = **p;
		(*p)++;
	} else if (**p == 0x81 && end - *p >= 2) {
		n = (*p)[1];
		*p += 2;
	} else if (**p == 0x82 && end - *p >= 3) {
		n = (size_t)(*p)[1] << 8 | (*p)[2];
		*p += 3;
	} else
		return -1;
	if (n > (size_t)(end - *p))
		return -1;
	return (long)n;
}

/*
 * Expects the tag (one or two bytes) at *p and narrows [*p, *end) to its
 * value; -1 when it is not there or does not fit.
 */
static int
ber_enter(const unsigned char **p, const unsigned char **end,
    unsigned int tag)
{
	long n;

	if (tag > 0xff) {
		if (*end - *p < 2 || (*p)[0] != tag >> 8 ||
		    (*p)[1] != (tag & 0xff))
			return -1;
		*p += 2;
	} else {
		if (*end - *p < 1 || (*p)[0] != tag)
			return -1;
		*p += 1;
	}
	if ((n = ber_len(p, *end)) < 0)
		return -1;
	*end = *p + n;
	return 0;
}

static EVP_PKEY *
peer_load(const unsigned char *pt, size_t len)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[3];
	char group[] = "prime256v1";

	if (len != 65 || pt[0] != 0x04)
		return NULL;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* ECDH with the decryption key: the shared point's x-coordinate. */
static int
pso_decipher(struct vcard *vc, const struct apdu *a, struct resp *r)
{
	const unsigned char *p = a->data, *end = a->data + a->lc;
	unsigned char z[32];
	size_t zlen = sizeof z;
	EVP_PKEY *priv = NULL, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int sw = SW_WRONG_DATA;

	if (!vc->v82)
		return SW_SECURITY;
	if (vc->s.key[KEY_DEC].status == 0)
		return SW_NOT_FOUND;
	if (ber_enter(&p, &end, 0xa6) == -1 ||
	    ber_enter(&p, &end, 0x7f49) == -1 ||
	    ber_enter(&p, &end, 0x86) == -1)
		return SW_WRONG_DATA;
	if ((peer = peer_load(p, (size_t)(end - p))) == NULL)
		goto out;
	if ((priv = key_load(&vc->s.key[KEY_DEC])) == NULL) {
		sw = SW_MEMORY;
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new(priv, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1 || zlen != sizeof z)
		goto out;
	resp_add(r, z, zlen);
	sw = SW_OK;
out:
	OPENSSL_cleanse(z, sizeof z);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(priv);
	return sw;
}

/* ECDSA over the given hash with the key in slot k: r || s. */
static int
key_sign(struct vcard *vc, int k, const struct apdu *a, struct resp *r)
{
	EVP_PKEY *priv;
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *sig = NULL;
	unsigned char der[80], rs[64];
	const unsigned char *p = der;
	size_t derlen = sizeof der;
	int sw = SW_MEMORY;

	if (vc->s.key[k].status == 0)
		return SW_NOT_FOUND;
	if (a->lc == 0 || a->lc > 64)
		return SW_WRONG_LENGTH;
	if ((priv = key_load(&vc->s.key[k])) == NULL)
		return SW_MEMORY;
	if ((ctx = EVP_PKEY_CTX_new(priv, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, der, &derlen, a->data, a->lc) != 1)
		goto out;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) != 32)
		goto out;
	resp_add(r, rs, sizeof rs);
	sw = SW_OK;
out:
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(priv);
	return sw;
}

static int
pso_sign(struct vcard *vc, const struct apdu *a, struct resp *r)
{
	unsigned char *c = vc->s.sigcount;
	unsigned long n;
	int sw;

	if (!vc->v81)
		return SW_SECURITY;
	if ((sw = key_sign(vc, KEY_SIG, a, r)) != SW_OK)
		return sw;
	if (vc->s.pw1_validity == 0)
		vc->v81 = 0;
	n = (unsigned long)c[0] << 16 | (unsigned long)c[1] << 8 | c[2];
	if (n < 0xffffff)
		n++;
	c[0] = (unsigned char)(n >> 16);
	c[1] = (unsigned char)(n >> 8);
	c[2] = (unsigned char)n;
	return state_save(vc) == -1 ? SW_MEMORY : SW_OK;
}

static int
cmd_pso(struct vcard *vc, const struct apdu *a, struct resp *r)
{
	if (a->p1 == 0x80 && a->p2 == 0x86)
		return pso_decipher(vc, a, r);
	if (a->p1 == 0x9e && a->p2 == 0x9a)
		return pso_sign(vc, a, r);
	return SW_WRONG_P1P2;
}

static int
cmd_internal_auth(struct vcard *vc, const struct apdu *a, struct resp *r)
{
	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (!vc->v82)
		return SW_SECURITY;
	return key_sign(vc, KEY_AUT, a, r);
}

/* --- the application's life cycle ----------------------------------------- */

static int
cmd_select(struct vcard *vc, const struct apdu *a)
{
	static const unsigned char rid[] = { 0xd2, 0x76, 0x00, 0x01, 0x24,
		0x01 };
	unsigned char aid[16];

	/* the master file (3F00) answers; the application only by name */
	if (a->p1 == 0x00 && (a->lc == 0 || (a->lc == 2 &&
	    a->data[0] == 0x3f && a->data[1] == 0x00)))
		return SW_OK;
	if (a->p1 != 0x04)
		return SW_FILE_NOT_FOUND;
	card_aid(vc, aid);
	/* by the application's name, or a longer part of its AID */
	if (a->lc < sizeof rid || a->lc > sizeof aid ||
	    memcmp(a->data, aid, a->lc) != 0)
		return SW_FILE_NOT_FOUND;
	return vc->s.terminated ? SW_TERMINATED : SW_OK;
}

/*
 * SELECT DATA: chooses which occurrence of the cardholder certificate
 * (7F21) GET DATA reads; every occurrence of this card's is empty.
 */
static int
cmd_select_data(const struct apdu *a)
{
	static const unsigned char want[] = { 0x60, 0x04, 0x5c, 0x02, 0x7f,
		0x21 };

	if (a->p1 > 2 || a->p2 != 0x04)
		return SW_WRONG_P1P2;
	if (a->lc != sizeof want || memcmp(a->data, want, sizeof want) != 0)
		return SW_NOT_FOUND;
	return SW_OK;
}

static void
card_drop_verified(struct vcard *vc)
{
	vc->v81 = vc->v82 = vc->v83 = 0;
	vc->chaining = 0;
	vc->chainlen = 0;
	vc->pendlen = vc->pendoff = 0;
}

static int
cmd_terminate(struct vcard *vc, const struct apdu *a)
{
	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	/* after PW3, or without it once PW3 is blocked */
	if (!vc->v83 && vc->s.pw3.tries != 0)
		return SW_SECURITY;
	vc->s.terminated = 1;
	card_drop_verified(vc);
	return state_save(vc) == -1 ? SW_MEMORY : SW_OK;
}

static int
cmd_activate(struct vcard *vc, const struct apdu *a)
{
	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (!vc->s.terminated)
		return SW_OK;
	card_factory(&vc->s);
	card_drop_verified(vc);
	return state_save(vc) == -1 ? SW_MEMORY : SW_OK;
}

static int
cmd_challenge(const struct apdu *a, struct resp *r)
{
	unsigned char b[255];

	if (a->p1 != 0x00 || a->p2 != 0x00)
		return SW_WRONG_P1P2;
	if (!a->le_present || a->ne > sizeof b)
		return SW_WRONG_LENGTH;
	if (RAND_bytes(b, (int)a->ne) != 1)
		return SW_MEMORY;
	resp_add(r, b, a->ne);
	return SW_OK;
}

/* --- APDUs ---------------------------------------------------------------- */

/*
 * Parses a command APDU (ISO 7816-3 cases 1 to 4, short and extended);
 * -1 when its length is inconsistent.
 */
static int
apdu_parse(const unsigned char *b, size_t n, struct apdu *a)
{
	size_t lc;

	memset(a, 0, sizeof *a);
	if (n < 4)
		return -1;
	a->cla = b[0];
	a->ins = b[1];
	a->p1 = b[2];
	a->p2 = b[3];
	if (n == 4)
		return 0;
	if (n == 5) {
		a->le_present = 1;
		a->ne = b[4] == 0 ? 256 : b[4];
		return 0;
	}
	if (b[4] != 0) {
		lc = b[4];
		if (n == 5 + lc) {
			a->data = b + 5;
			a->lc = lc;
			return 0;
		}
		if (n == 6 + lc) {
			a->data = b + 5;
			a->lc = lc;
			a->le_present = 1;
			a->ne = b[n - 1] == 0 ? 256 : b[n - 1];
			return 0;
		}
		return -1;
	}
	/* extended: 00, then Lc or Le in two bytes */
	if (n < 7)
		return -1;
	lc = (size_t)b[5] << 8 | b[6];
	if (n == 7) {
		a->le_present = 1;
		a->ne = lc == 0 ? 65536 : lc;
		return 0;
	}
	if (lc == 0)
		return -1;
	if (n == 7 + lc) {
		a->data = b + 7;
		a->lc = lc;
		return 0;
	}
	if (n == 9 + lc) {
		size_t le = (size_t)b[n - 2] << 8 | b[n - 1];

		a->data = b + 7;
		a->lc = lc;
		a->le_present = 1;
		a->ne = le == 0 ? 65536 : le;
		return 0;
	}
	return -1;
}

/* Runs one complete command; its data (if any) in r, its status word. */
static int
card_dispatch(struct vcard *vc, const struct apdu *a, struct resp *r)
{
	if (vc->s.terminated && a->ins != 0xa4 && a->ins != 0x44)
		return SW_CONDITIONS;
	switch (a->ins) {
	case 0xa4:
		return cmd_select(vc, a);
	case 0xca:
		return cmd_get_data(vc, a, r);
	case 0xa5:
		return cmd_select_data(a);
	case 0xda:
		return cmd_put_data(vc, a);
	case 0x20:
		return cmd_verify(vc, a);
	case 0x24:
		return cmd_change_pin(vc, a);
	case 0x2c:
		return cmd_reset_retry(vc, a);
	case 0x47:
		return cmd_generate(vc, a, r);
	case 0x2a:
		return cmd_pso(vc, a, r);
	case 0x88:
		return cmd_internal_auth(vc, a, r);
	case 0x84:
		return cmd_challenge(a, r);
	case 0xe6:
		return cmd_terminate(vc, a);
	case 0x44:
		return cmd_activate(vc, a);
	}
	return SW_WRONG_INS;
}

/* Appends the status word to out (of room for VCARD_RESP_MAX + 2 bytes). */
static size_t
sw_put(unsigned char *out, size_t n, int sw)
{
	out[n] = (unsigned char)(sw >> 8);
	out[n + 1] = (unsigned char)sw;
	return n + 2;
}

/*
 * Answers what is left of the last response: at most ne bytes, and 61xx
 * while more remain.
 */
static size_t
card_send_pending(struct vcard *vc, size_t ne, unsigned char *out)
{
	size_t left = vc->pendlen - vc->pendoff, n = left < ne ? left : ne;

	memcpy(out, vc->pending + vc->pendoff, n);
	vc->pendoff += n;
	left -= n;
	if (left == 0) {
		vc->pendlen = vc->pendoff = 0;
		return sw_put(out, n, SW_OK);
	}
	return sw_put(out, n, 0x6100 | (left > 0xff ? 0 : (int)left));
}

/* Handles one command APDU; writes the response to out and returns its
 * length. */
static size_t
card_apdu(struct vcard *vc, const unsigned char *b, size_t n,
    unsigned char *out)
{
	struct apdu a;
	struct resp *r;
	size_t len;
	int sw;

	if (apdu_parse(b, n, &a) == -1) {
		vc->chaining = 0;
		return sw_put(out, 0, SW_WRONG_LENGTH);
	}
	if ((a.cla & ~0x10) != 0x00) {
		vc->chaining = 0;
		return sw_put(out, 0, SW_WRONG_CLA);
	}
	if (a.ins == 0xc0) {
		/* GET RESPONSE */
		if (vc->pendlen == 0 || a.p1 != 0 || a.p2 != 0)
			return sw_put(out, 0, SW_CONDITIONS);
		return card_send_pending(vc, a.le_present ? a.ne : 256, out);
	}
	vc->pendlen = vc->pendoff = 0;
	if (vc->chaining && memcmp(vc->chain_hdr, b + 1, 3) != 0) {
		vc->chaining = 0;
		return sw_put(out, 0, SW_LAST_IN_CHAIN);
	}
	if (a.cla & 0x10 || vc->chaining) {
		/* command chaining: collect the data of every part */
		if (!vc->chaining) {
			vc->chaining = 1;
			vc->chainlen = 0;
			memcpy(vc->chain_hdr, b + 1, 3);
		}
		if (a.lc > sizeof vc->chain - vc->chainlen) {
			vc->chaining = 0;
			return sw_put(out, 0, SW_WRONG_LENGTH);
		}
		if (a.lc > 0)
			memcpy(vc->chain + vc->chainlen, a.data, a.lc);
		vc->chainlen += a.lc;
		if (a.cla & 0x10)
			return sw_put(out, 0, SW_OK);
		vc->chaining = 0;
		a.data = vc->chain;
		a.lc = vc->chainlen;
	}
	if ((r = calloc(1, sizeof *r)) == NULL)
		return sw_put(out, 0, SW_MEMORY);
	sw = card_dispatch(vc, &a, r);
	if (r->overflow)
		sw = SW_MEMORY;
	if (sw != SW_OK)
		r->len = 0;
	/* without Le the reader takes what a short Le of 00 would */
	memcpy(vc->pending, r->d, r->len);
	vc->pendlen = r->len;
	vc->pendoff = 0;
	OPENSSL_cleanse(r, sizeof *r);
	free(r);
	OPENSSL_cleanse(vc->chain, sizeof vc->chain);
	if (sw != SW_OK || vc->pendlen == 0) {
		vc->pendlen = 0;
		return sw_put(out, 0, sw);
	}
	len = card_send_pending(vc, a.le_present ? a.ne : 256, out);
	return len;
}

/* --- the vpcd connection -------------------------------------------------- */

static size_t
card_atr(unsigned char *out)
{
	/* T=1, IFSC 254, then the historical bytes and TCK */
	static const unsigned char head[] = { 0x3b, 0xda, 0x18, 0xff, 0x81,
		0xb1, 0xfe, 0x75, 0x1f, 0x03 };
	size_t n = 0, i;
	unsigned char tck = 0;

	memcpy(out, head, sizeof head);
	n = sizeof head;
	memcpy(out + n, hist, sizeof hist);
	n += sizeof hist;
	for (i = 1; i < n; i++)
		tck ^= out[i];
	out[n++] = tck;
	return n;
}

/* Reads exactly n bytes; 0 at the peer's end, -1 on error or stop. */
static int
read_full(int fd, unsigned char *b, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int one = 1;

	while (got < n) {
		/* the kernel clears QUICKACK again after a while: each time */
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
		r = read(fd, b + got, n - got);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR && !stop)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 1;
}

/* Writes one message (length and payload) in one write. */
static int
send_msg(int fd, const unsigned char *b, size_t n)
{
	unsigned char m[2 + VCARD_RESP_MAX + 2];
	size_t off = 0;
	ssize_t w;

	if (n > VCARD_RESP_MAX + 2)
		return -1;
	m[0] = (unsigned char)(n >> 8);
	m[1] = (unsigned char)n;
	memcpy(m + 2, b, n);
	while (off < n + 2) {
		w = write(fd, m + off, n + 2 - off);
		if (w < 0) {
			if (errno == EINTR && !stop)
				continue;
			OPENSSL_cleanse(m, sizeof m);
			return -1;
		}
		off += (size_t)w;
	}
	OPENSSL_cleanse(m, sizeof m);
	return 0;
}

static int
vpcd_connect(int port)
{
	struct sockaddr_in sin;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int fd, one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (!stop) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1) {
			warnx("socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof one);
			return fd;
		}
		close(fd);
		nanosleep(&ts, NULL);
	}
	return -1;
}

struct options {
	int port;
	int remove_on; /* -1: never */
	long delay_ms;
};

/*
 * Serves one insertion: returns 0 when vpcd closed the connection, 1 when
 * the card was pulled out (--remove-on), -1 on stop or error.
 */
static int
vpcd_serve(struct vcard *vc, int fd, const struct options *o)
{
	static unsigned char msg[65536], out[VCARD_RESP_MAX + 2];
	unsigned char hdr[2];
	size_t n, len;
	int rc;

	while (!stop) {
		if ((rc = read_full(fd, hdr, 2)) <= 0)
			return rc;
		n = (size_t)hdr[0] << 8 | hdr[1];
		if ((rc = read_full(fd, msg, n)) <= 0)
			return rc;
		if (n == 0)
			continue;
		if (n == 1) {
			switch (msg[0]) {
			case 0x00: /* power off */
			case 0x01: /* power on */
			case 0x02: /* reset */
				card_drop_verified(vc);
				break;
			case 0x04:
				len = card_atr(out);
				if (send_msg(fd, out, len) == -1)
					return -1;
				break;
			}
			continue;
		}
		if (o->remove_on >= 0 && n >= 2 && msg[1] == o->remove_on)
			return 1;
		if (o->delay_ms > 0) {
			struct timespec ts = { o->delay_ms / 1000,
				(o->delay_ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		}
		len = card_apdu(vc, msg, n, out);
		OPENSSL_cleanse(msg, n);
		if (send_msg(fd, out, len) == -1)
			return -1;
		OPENSSL_cleanse(out, len);
	}
	return -1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vcard --port PORT --state FILE [--serial HEX8] "
	    "[--remove-on INS] [--delay-ms N]\n");
	exit(2);
}

static long
num_arg(const char *s, int base, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, base);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > max)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	static struct vcard vc;
	struct options o = { 0, -1, 0 };
	struct sigaction sa;
	const char *serial = NULL;
	unsigned char want[4];
	int i, fd, rc;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--port") == 0)
			o.port = (int)num_arg(argv[++i], 10, 65535);
		else if (strcmp(argv[i], "--state") == 0)
			vc.statefile = argv[++i];
		else if (strcmp(argv[i], "--serial") == 0)
			serial = argv[++i];
		else if (strcmp(argv[i], "--remove-on") == 0)
			o.remove_on = (int)num_arg(argv[++i], 16, 0xff);
		else if (strcmp(argv[i], "--delay-ms") == 0)
			o.delay_ms = num_arg(argv[++i], 10, 600000);
		else
			usage();
	}
	if (o.port == 0 || vc.statefile == NULL)
		usage();
	if (serial != NULL) {
		if (strlen(serial) != 8)
			usage();
		for (i = 0; i < 4; i++) {
			int hi = OPENSSL_hexchar2int(serial[2 * i]),
			    lo = OPENSSL_hexchar2int(serial[2 * i + 1]);

			if (hi < 0 || lo < 0)
				usage();
			want[i] = (unsigned char)(hi << 4 | lo);
		}
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	switch (state_load(&vc)) {
	case -1:
		return 1;
	case 1:
		/* a new card */
		if (serial != NULL)
			memcpy(vc.s.serial, want, 4);
		else if (RAND_bytes(vc.s.serial, 4) != 1)
			return 1;
		card_factory(&vc.s);
		if (state_save(&vc) == -1)
			return 1;
		break;
	default:
		if (serial != NULL && memcmp(vc.s.serial, want, 4) != 0) {
			warnx("%s is the card with serial %02X%02X%02X%02X, "
			    "not %s", vc.statefile, vc.s.serial[0],
			    vc.s.serial[1], vc.s.serial[2], vc.s.serial[3],
			    serial);
			return 1;
		}
	}

	while (!stop) {
		if ((fd = vpcd_connect(o.port)) == -1) {
			if (!stop)
				return 1;
			break;
		}
		rc = vpcd_serve(&vc, fd, &o);
		close(fd);
		card_drop_verified(&vc);
		if (rc == 1)
			break;
	}
	OPENSSL_cleanse(&vc, sizeof vc);
	return 0;
}
