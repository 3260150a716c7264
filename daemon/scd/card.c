/*
 * The OpenPGP card application (version 3.4) through pcsc-lite.
 *
 * Every operation runs inside one PC/SC transaction, so no other client
 * of pcscd can put an APDU between ours (a wrong VERIFY and the read of
 * the counter it lowered).  Once a PIN is verified the transaction is
 * held across operations until card_close has unverified it: no other
 * client ever finds a PIN verified by scd (to decipher with it between
 * scd's VERIFY and its PSO:DECIPHER, say).  APDUs
 * are short (ISO 7816-4): nothing scd sends needs more than 255 bytes, and
 * longer answers come in pieces through GET RESPONSE (61xx).  What the
 * card answers is read as hostile: every length is checked against the
 * buffer it came in, and a BER-TLV object must fit inside its parent.
 *
 * A command that carries a PIN is built in a buffer of card_apdu's that
 * is wiped as soon as the card answered; when scd lets the card go
 * (card_close) every PIN's verified state is dropped, so none stays
 * verified for the next client.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>
#include <wintypes.h>
#include <openssl/evp.h>

#include "card.h"
#include "xmalloc.h"

/* T=1 where the card speaks it, T=0 otherwise. */
#define CARD_PROTOCOLS (SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0)
/* The most bytes of one answer, after GET RESPONSE joined its pieces. */
#define CARD_ANSWER_MAX 2048
/* The most exchanges of one command (GET RESPONSE, 6Cxx repeats). */
#define CARD_ROUNDS_MAX 16
/* How deep card_tlv_find looks into constructed objects. */
#define CARD_TLV_DEPTH 4
/* How long a failed exchange waits for pcscd to see the card gone (ms). */
#define CARD_GONE_WAIT 1500
/* The most wrong VERIFYs a factory reset sends to block one PIN. */
#define CARD_BLOCK_TRIES 16

/* The OpenPGP application's AID prefix (RID D2 76 00 01 24, PIX 01). */
static const unsigned char card_aid[] = { 0xd2, 0x76, 0x00, 0x01, 0x24,
	0x01 };
/* Algorithm attributes of ECDH (18) on NIST P-256 (OID 1.2.840.10045.3.1.7). */
static const unsigned char card_ecdh_p256[] = { 0x12, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x03, 0x01, 0x07 };

struct card {
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	int connected;
	int verified; /* the PINs that may be verified (card_pw_bit) */
	int info_valid; /* info is as the card has it */
	/*
	 * A PIN is verified: the transaction is held until card_close has
	 * unverified it, so that no other client can use it meanwhile.
	 */
	int held;
	char reader[MAX_READERNAME];
	struct card_info info;
};

/* Status words in words. */
static const struct {
	unsigned int sw;
	const char *words;
} card_sw_words[] = {
	{ 0x6281, "the returned data may be corrupted" },
	{ 0x6285, "the OpenPGP application is terminated" },
	{ 0x6581, "the card's memory failed" },
	{ 0x6600, "a security-related issue" },
	{ 0x6700, "wrong length" },
	{ 0x6881, "logical channel not supported" },
	{ 0x6882, "secure messaging not supported" },
	{ 0x6883, "the last command of a chain was expected" },
	{ 0x6884, "command chaining not supported" },
	{ 0x6982, "security status not satisfied" },
	{ 0x6983, "authentication method blocked" },
	{ 0x6984, "referenced data not usable" },
	{ 0x6985, "conditions of use not satisfied" },
	{ 0x6987, "expected secure messaging data objects missing" },
	{ 0x6988, "secure messaging data objects incorrect" },
	{ 0x6a80, "incorrect parameters in the command data" },
	{ 0x6a82, "file or application not found" },
	{ 0x6a84, "not enough memory on the card" },
	{ 0x6a86, "incorrect parameters P1-P2" },
	{ 0x6a88, "referenced data not found" },
	{ 0x6b00, "wrong parameters P1-P2" },
	{ 0x6d00, "instruction not supported" },
	{ 0x6e00, "class not supported" },
	{ 0x6f00, "no precise diagnosis" },
};

const char *
card_sw_str(unsigned int sw)
{
	size_t i;

	if (sw == 0x9000)
		return "success";
	if ((sw & 0xfff0) == 0x63c0)
		return "wrong PIN";
	if ((sw & 0xff00) == 0x6100)
		return "more data available";
	if ((sw & 0xff00) == 0x6c00)
		return "wrong expected length";
	for (i = 0; i < sizeof card_sw_words / sizeof card_sw_words[0]; i++) {
		if (card_sw_words[i].sw == sw)
			return card_sw_words[i].words;
	}
	if ((sw & 0xff00) == 0x6400 || (sw & 0xff00) == 0x6500)
		return "the card's memory is unchanged or failed";
	return "an unknown status";
}

/* Sets *cause to the card's refusal of what: "... refused VERIFY: ..." */
static void
card_sw_cause(const struct card *c, const char *what, unsigned int sw,
    char **cause)
{
	xcause(cause, "the card in reader '%s' refused %s: %s (%04X)",
	    c->reader, what, card_sw_str(sw), sw);
}

/*
 * PC/SC's error space in words, the one place it is mapped; during says
 * the card was in use, so that a card gone names the operation it broke.
 */
static void
card_pcsc_cause(const char *reader, LONG rv, int during, char **cause)
{
	switch (rv) {
	case SCARD_W_REMOVED_CARD:
	case SCARD_E_NO_SMARTCARD:
		if (during)
			xcause(cause, "the card was removed from reader '%s' "
			    "during the operation: nothing was changed",
			    reader);
		else
			xcause(cause, "no card in reader '%s': insert the "
			    "token's card", reader);
		return;
	case SCARD_W_RESET_CARD:
		xcause(cause, "the card in reader '%s' was reset by another "
		    "program during the operation: nothing was changed; try "
		    "again", reader);
		return;
	case SCARD_E_READER_UNAVAILABLE:
	case SCARD_E_UNKNOWN_READER:
		xcause(cause, "reader '%s' is not connected: plug it in, or "
		    "name another (token readers)", reader);
		return;
	case SCARD_E_NO_READERS_AVAILABLE:
		xcause(cause, "PC/SC has no readers: connect the reader of "
		    "the token's card");
		return;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
		if (*reader == '\0')
			xcause(cause, "PC/SC is down (pcscd is not running)");
		else
			xcause(cause, "PC/SC is down (pcscd is not running): "
			    "the card in reader '%s' cannot be used", reader);
		return;
	case SCARD_E_SHARING_VIOLATION:
		xcause(cause, "another program holds the card in reader '%s' "
		    "for itself (gpg's scdaemon?): stop it and try again",
		    reader);
		return;
	case SCARD_W_UNRESPONSIVE_CARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_W_UNSUPPORTED_CARD:
	case SCARD_E_PROTO_MISMATCH:
		xcause(cause, "the card in reader '%s' does not answer as a "
		    "smartcard should (%s): reinsert it", reader,
		    pcsc_stringify_error(rv));
		return;
	}
	if (*reader == '\0')
		xcause(cause, "PC/SC failed: %s (0x%08lX)",
		    pcsc_stringify_error(rv), (unsigned long)rv);
	else
		xcause(cause, "PC/SC failed with reader '%s': %s (0x%08lX)",
		    reader, pcsc_stringify_error(rv), (unsigned long)rv);
}

/*
 * Whether the card is gone from its reader: a failed exchange may be the
 * card pulled out before pcscd, which polls its readers, noticed; so wait
 * a little for the reader's state to change.
 */
static int
card_gone(struct card *c)
{
	SCARD_READERSTATE rs;
	LONG rv;

	memset(&rs, 0, sizeof rs);
	rs.szReader = c->reader;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	rv = SCardGetStatusChange(c->ctx, 0, &rs, 1);
	if (rv != SCARD_S_SUCCESS)
		return rv == SCARD_E_UNKNOWN_READER ||
		    rv == SCARD_E_READER_UNAVAILABLE;
	if (!(rs.dwEventState & SCARD_STATE_PRESENT) ||
	    (rs.dwEventState & SCARD_STATE_UNAVAILABLE))
		return 1;
	rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	rv = SCardGetStatusChange(c->ctx, CARD_GONE_WAIT, &rs, 1);
	if (rv == SCARD_E_TIMEOUT)
		return 0;
	if (rv != SCARD_S_SUCCESS)
		return rv == SCARD_E_UNKNOWN_READER ||
		    rv == SCARD_E_READER_UNAVAILABLE;
	return !(rs.dwEventState & SCARD_STATE_PRESENT) ||
	    (rs.dwEventState & SCARD_STATE_UNAVAILABLE) ||
	    (rs.dwEventState & SCARD_STATE_EMPTY);
}

/* Sets *cause for an exchange with the card that failed with rv. */
static void
card_transmit_cause(struct card *c, LONG rv, char **cause)
{
	switch (rv) {
	case SCARD_W_REMOVED_CARD:
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_RESET_CARD:
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
		break;
	default:
		/* a broken link is most often the card pulled out */
		if (card_gone(c))
			rv = SCARD_W_REMOVED_CARD;
		break;
	}
	card_pcsc_cause(c->reader, rv, 1, cause);
}

/*
 * Sends one command APDU: the header hdr (CLA INS P1 P2), len bytes of
 * data (0 to 255) and, with le, Le 00 (up to 256 bytes back).  The answer
 * is collected in resp (NULL: thrown away): 61xx is followed by GET
 * RESPONSE until the card has no more, 6Cxx repeats the command with the
 * length the card asked for; an answer longer than cap is refused, so a
 * hostile card cannot overrun resp.  -1 with *cause set when the card
 * cannot be reached or answers nonsense; else 0 and *sw.
 */
static int
card_apdu(struct card *c, const char *what, const unsigned char hdr[4],
    const unsigned char *data, size_t len, int le, unsigned char *resp,
    size_t cap, size_t *rlen, unsigned int *sw, char **cause)
{
	const SCARD_IO_REQUEST *pci;
	unsigned char cmd[4 + 1 + 255 + 1], buf[256 + 2];
	size_t n, off = 0;
	DWORD blen;
	LONG rv;
	unsigned int s;
	int round, ret = -1;

	if (len > 255) {
		xcause(cause, "%s is too long for the card (%zu bytes)", what,
		    len);
		return -1;
	}
	pci = c->proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
	memcpy(cmd, hdr, 4);
	n = 4;
	if (len > 0) {
		cmd[n++] = (unsigned char)len;
		memcpy(cmd + n, data, len);
		n += len;
	}
	if (le)
		cmd[n++] = 0x00;
	for (round = 0; round < CARD_ROUNDS_MAX; round++) {
		blen = sizeof buf;
		rv = SCardTransmit(c->h, pci, cmd, (DWORD)n, NULL, buf, &blen);
		if (rv != SCARD_S_SUCCESS) {
			card_transmit_cause(c, rv, cause);
			goto out;
		}
		if (blen < 2 || blen > sizeof buf) {
			/* vpcd answers nothing when its card went away */
			if (card_gone(c))
				card_pcsc_cause(c->reader,
				    SCARD_W_REMOVED_CARD, 1, cause);
			else
				xcause(cause, "the card in reader '%s' gave "
				    "a malformed answer to %s (%lu bytes)",
				    c->reader, what, (unsigned long)blen);
			goto out;
		}
		s = (unsigned int)buf[blen - 2] << 8 | buf[blen - 1];
		blen -= 2;
		if ((s & 0xff00) == 0x6c00) {
			/* the same command again with the length it wants */
			if (le)
				cmd[n - 1] = s & 0xff;
			else {
				cmd[n++] = s & 0xff;
				le = 1;
			}
			continue;
		}
		if (blen > 0 && resp != NULL) {
			if (blen > cap - off) {
				xcause(cause, "the card in reader '%s' "
				    "answered %s with more than %zu bytes",
				    c->reader, what, cap);
				goto out;
			}
			memcpy(resp + off, buf, blen);
			off += blen;
		}
		if ((s & 0xff00) == 0x6100) {
			/* GET RESPONSE: the wiped command is not needed */
			explicit_bzero(cmd, sizeof cmd);
			cmd[0] = 0x00;
			cmd[1] = 0xc0;
			cmd[2] = 0x00;
			cmd[3] = 0x00;
			cmd[4] = s & 0xff;
			n = 5;
			le = 1;
			continue;
		}
		*sw = s;
		if (rlen != NULL)
			*rlen = off;
		ret = 0;
		goto out;
	}
	xcause(cause, "the card in reader '%s' kept answering %s (more than "
	    "%d exchanges)", c->reader, what, CARD_ROUNDS_MAX);
out:
	explicit_bzero(cmd, sizeof cmd);
	explicit_bzero(buf, sizeof buf);
	if (ret != 0 && resp != NULL)
		explicit_bzero(resp, off);
	return ret;
}

/*
 * Sends a command whose only good answer is 9000, keeping what came back
 * in resp (as card_apdu); -1 with *cause set else.
 */
static int
card_exchange(struct card *c, const char *what, const unsigned char hdr[4],
    const unsigned char *data, size_t len, int le, unsigned char *resp,
    size_t cap, size_t *rlen, char **cause)
{
	unsigned int sw;

	if (card_apdu(c, what, hdr, data, len, le, resp, cap, rlen, &sw,
	    cause) != 0)
		return -1;
	if (sw != 0x9000) {
		card_sw_cause(c, what, sw, cause);
		if (resp != NULL)
			explicit_bzero(resp, cap);
		return -1;
	}
	return 0;
}

/* Sends a command whose only good answer is 9000 and that gives nothing. */
static int
card_apdu_ok(struct card *c, const char *what, const unsigned char hdr[4],
    const unsigned char *data, size_t len, char **cause)
{
	return card_exchange(c, what, hdr, data, len, 0, NULL, 0, NULL, cause);
}

/* Reads the data object tag (GET DATA) into buf; -1 with *cause set. */
static int
card_get_data(struct card *c, unsigned int tag, unsigned char *buf,
    size_t cap, size_t *len, char **cause)
{
	unsigned char hdr[4] = { 0x00, 0xca, (tag >> 8) & 0xff, tag & 0xff };
	char what[32];

	snprintf(what, sizeof what, "GET DATA %X", tag);
	return card_exchange(c, what, hdr, NULL, 0, 1, buf, cap, len, cause);
}

/*
 * SELECTs the OpenPGP application; *terminated is set when the card says
 * it is terminated (6285: a factory reset cut short before ACTIVATE).
 */
static int
card_select(struct card *c, int *terminated, char **cause)
{
	static const unsigned char hdr[4] = { 0x00, 0xa4, 0x04, 0x00 };
	unsigned int sw;

	*terminated = 0;
	if (card_apdu(c, "SELECT", hdr, card_aid, sizeof card_aid, 0, NULL, 0,
	    NULL, &sw, cause) != 0)
		return -1;
	if (sw == 0x6285) {
		*terminated = 1;
		return 0;
	}
	if (sw == 0x6a82) {
		xcause(cause, "the card in reader '%s' has no OpenPGP "
		    "application", c->reader);
		return -1;
	}
	if (sw != 0x9000) {
		card_sw_cause(c, "SELECT of the OpenPGP application", sw,
		    cause);
		return -1;
	}
	return 0;
}

/* SELECTs the application, activating a terminated one. */
static int
card_select_active(struct card *c, char **cause)
{
	static const unsigned char activate[4] = { 0x00, 0x44, 0x00, 0x00 };
	int terminated;

	if (card_select(c, &terminated, cause) != 0)
		return -1;
	if (!terminated)
		return 0;
	if (card_apdu_ok(c, "ACTIVATE FILE", activate, NULL, 0, cause) != 0)
		return -1;
	if (card_select(c, &terminated, cause) != 0)
		return -1;
	if (terminated) {
		xcause(cause, "the card in reader '%s' stays terminated after "
		    "ACTIVATE FILE", c->reader);
		return -1;
	}
	return 0;
}

/*
 * Starts a transaction, unless one is held.  A card reset by another
 * client in between lost the selected application, so it is reconnected
 * and selected again.
 */
static int
card_begin(struct card *c, char **cause)
{
	LONG rv;

	if (c->held)
		return 0;
	rv = SCardBeginTransaction(c->h);
	if (rv == SCARD_W_RESET_CARD) {
		rv = SCardReconnect(c->h, SCARD_SHARE_SHARED, CARD_PROTOCOLS,
		    SCARD_LEAVE_CARD, &c->proto);
		if (rv == SCARD_S_SUCCESS)
			rv = SCardBeginTransaction(c->h);
		if (rv == SCARD_S_SUCCESS &&
		    card_select_active(c, cause) != 0) {
			SCardEndTransaction(c->h, SCARD_LEAVE_CARD);
			return -1;
		}
	}
	if (rv != SCARD_S_SUCCESS) {
		card_pcsc_cause(c->reader, rv, 0, cause);
		return -1;
	}
	return 0;
}

/* Ends the transaction, unless it is held; the card stays as it is. */
static void
card_end(struct card *c)
{
	if (!c->held)
		SCardEndTransaction(c->h, SCARD_LEAVE_CARD);
}

/* Reads a BER-TLV tag; 0 with *tag and the bytes it took, -1 if cut. */
static int
card_tlv_tag(const unsigned char *p, size_t len, unsigned int *tag,
    size_t *used)
{
	size_t i = 0;

	if (len < 1)
		return -1;
	*tag = p[i++];
	if ((p[0] & 0x1f) != 0x1f) {
		*used = i;
		return 0;
	}
	/* multi-byte tags: at most two bytes after the first */
	do {
		if (i >= len || i > 2)
			return -1;
		*tag = *tag << 8 | p[i];
	} while (p[i++] & 0x80);
	*used = i;
	return 0;
}

/* Reads a BER-TLV length (at most 82 xx xx); -1 if cut or too long. */
static int
card_tlv_len(const unsigned char *p, size_t len, size_t *vlen, size_t *used)
{
	if (len < 1)
		return -1;
	if (p[0] < 0x80) {
		*vlen = p[0];
		*used = 1;
		return 0;
	}
	if (p[0] == 0x81 && len >= 2) {
		*vlen = p[1];
		*used = 2;
		return 0;
	}
	if (p[0] == 0x82 && len >= 3) {
		*vlen = (size_t)p[1] << 8 | p[2];
		*used = 3;
		return 0;
	}
	return -1;
}

/* card_tlv_find, depth levels deep at most. */
static int
card_tlv_find_depth(const unsigned char *buf, size_t len, unsigned int tag,
    const unsigned char **val, size_t *vlen, int depth)
{
	size_t off = 0, tl, ll, vl;
	unsigned int t;

	while (off < len) {
		/* 00 and FF may pad between objects (ISO 7816-4, 5.2.2) */
		if (buf[off] == 0x00 || buf[off] == 0xff) {
			off++;
			continue;
		}
		if (card_tlv_tag(buf + off, len - off, &t, &tl) != 0)
			return -1;
		if (card_tlv_len(buf + off + tl, len - off - tl, &vl,
		    &ll) != 0)
			return -1;
		if (vl > len - off - tl - ll)
			return -1;
		if (t == tag) {
			*val = buf + off + tl + ll;
			*vlen = vl;
			return 0;
		}
		if ((buf[off] & 0x20) && depth > 0 &&
		    card_tlv_find_depth(buf + off + tl + ll, vl, tag, val,
		    vlen, depth - 1) == 0)
			return 0;
		off += tl + ll + vl;
	}
	return -1;
}

int
card_tlv_find(const unsigned char *buf, size_t len, unsigned int tag,
    const unsigned char **val, size_t *vlen)
{
	if (buf == NULL)
		return -1;
	return card_tlv_find_depth(buf, len, tag, val, vlen, CARD_TLV_DEPTH);
}

int
card_ecdh_fingerprint(const unsigned char pub[65], uint32_t created,
    unsigned char fpr[20])
{
	/*
	 * The public key packet as RFC 4880 (5.5.2, 12.2) hashes it: 0x99,
	 * the body's length in two bytes, the body: version 4, creation
	 * time, algorithm 18 (ECDH), the curve OID with its length, the
	 * point as an MPI (515 bits: 04 || X || Y), and RFC 6637's KDF
	 * parameters as gpg sets them for P-256: SHA-256 (8), AES-128 (7).
	 */
	unsigned char pkt[3 + 86];
	unsigned int mdlen = 0;
	size_t n = 0;

	pkt[n++] = 0x99;
	pkt[n++] = 0x00;
	pkt[n++] = 86;
	pkt[n++] = 0x04;
	pkt[n++] = (created >> 24) & 0xff;
	pkt[n++] = (created >> 16) & 0xff;
	pkt[n++] = (created >> 8) & 0xff;
	pkt[n++] = created & 0xff;
	pkt[n++] = 18;
	pkt[n++] = sizeof card_ecdh_p256 - 1;
	memcpy(pkt + n, card_ecdh_p256 + 1, sizeof card_ecdh_p256 - 1);
	n += sizeof card_ecdh_p256 - 1;
	pkt[n++] = 0x02;
	pkt[n++] = 0x03;
	memcpy(pkt + n, pub, 65);
	n += 65;
	pkt[n++] = 0x03;
	pkt[n++] = 0x01;
	pkt[n++] = 0x08;
	pkt[n++] = 0x07;
	if (EVP_Digest(pkt, n, fpr, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return -1;
	return 0;
}

/* Sets the version and serial number of info from the AID (4F). */
static int
card_parse_aid(const unsigned char *aid, size_t aidlen,
    struct card_info *info, char **cause)
{
	/* RID, PIX 01, version (2), manufacturer (2), serial (4), RFU (2) */
	if (aidlen < 14 || memcmp(aid, card_aid, sizeof card_aid) != 0) {
		xcause(cause, "its AID is not an OpenPGP card's");
		return -1;
	}
	snprintf(info->version, sizeof info->version, "%x.%x", aid[6],
	    aid[7]);
	snprintf(info->serial, sizeof info->serial,
	    "%02X%02X:%02X%02X%02X%02X", aid[8], aid[9], aid[10], aid[11],
	    aid[12], aid[13]);
	return 0;
}

int
card_parse_info(const unsigned char *ard, size_t ardlen,
    const unsigned char *aid, size_t aidlen, struct card_info *info,
    char **cause)
{
	const unsigned char *v;
	size_t vl, i;

	memset(info, 0, sizeof *info);
	if (card_parse_aid(aid, aidlen, info, cause) != 0)
		return -1;

	/* PW status bytes: validity, 3 max lengths, 3 counters */
	if (card_tlv_find(ard, ardlen, 0xc4, &v, &vl) != 0 || vl < 7) {
		xcause(cause, "its PW status bytes (C4) are missing or short");
		return -1;
	}
	info->pw1_max_len = v[1] & 0x7f;
	info->pw3_max_len = v[3] & 0x7f;
	info->pw1_tries = v[4];
	info->rc_tries = v[5];
	info->pw3_tries = v[6];

	/* fingerprints: signature, decryption, authentication */
	if (card_tlv_find(ard, ardlen, 0xc5, &v, &vl) != 0 || vl < 60) {
		xcause(cause, "its key fingerprints (C5) are missing or "
		    "short");
		return -1;
	}
	memcpy(info->decrypt_fpr, v + 20, 20);
	for (i = 20; i < 40; i++) {
		if (v[i] != 0)
			info->has_decrypt_key = 1;
	}
	info->factory = !info->has_decrypt_key;

	if (card_tlv_find(ard, ardlen, 0xc2, &v, &vl) == 0 &&
	    vl >= sizeof card_ecdh_p256 &&
	    memcmp(v, card_ecdh_p256, sizeof card_ecdh_p256) == 0)
		info->ecdh_p256 = 1;
	/* extended capabilities: bit 3 of the first byte */
	if (card_tlv_find(ard, ardlen, 0xc0, &v, &vl) == 0 && vl >= 1)
		info->attrs_changeable = (v[0] & 0x04) != 0;
	return 0;
}

int
card_parse_point(const unsigned char *buf, size_t len, unsigned char pub[65],
    char **cause)
{
	const unsigned char *v, *p;
	size_t vl, pl;

	if (card_tlv_find(buf, len, 0x7f49, &v, &vl) != 0 ||
	    card_tlv_find(v, vl, 0x86, &p, &pl) != 0) {
		xcause(cause, "no public key (7F49 { 86 }) in its answer");
		return -1;
	}
	if (pl != 65 || p[0] != 0x04) {
		xcause(cause, "its public key is not an uncompressed P-256 "
		    "point (%zu bytes)", pl);
		return -1;
	}
	memcpy(pub, p, 65);
	return 0;
}

/* Reads the AID and the application related data into c->info. */
static int
card_read_info(struct card *c, char **cause)
{
	unsigned char ard[CARD_ANSWER_MAX], aid[64];
	size_t ardlen, aidlen;
	char *why = NULL;

	if (card_get_data(c, 0x004f, aid, sizeof aid, &aidlen, cause) != 0 ||
	    card_get_data(c, 0x006e, ard, sizeof ard, &ardlen, cause) != 0)
		return -1;
	c->info_valid = 0;
	if (card_parse_info(ard, ardlen, aid, aidlen, &c->info, &why) != 0) {
		xcause(cause, "the card in reader '%s' is not a usable "
		    "OpenPGP card: %s", c->reader, why);
		free(why);
		return -1;
	}
	c->info_valid = 1;
	return 0;
}

/* Reads the PW status bytes (C4) into c->info's counters. */
static int
card_read_tries(struct card *c, char **cause)
{
	unsigned char buf[64];
	const unsigned char *v;
	size_t len, vl;

	if (card_get_data(c, 0x00c4, buf, sizeof buf, &len, cause) != 0)
		return -1;
	/* the value, as the standard says; some cards wrap it in C4 */
	v = buf;
	vl = len;
	if (len != 7 && card_tlv_find(buf, len, 0xc4, &v, &vl) != 0)
		vl = 0;
	if (vl < 7) {
		xcause(cause, "the card in reader '%s' gave short PW status "
		    "bytes (%zu)", c->reader, vl);
		return -1;
	}
	c->info.pw1_tries = v[4];
	c->info.rc_tries = v[5];
	c->info.pw3_tries = v[6];
	c->info_valid = 1;
	return 0;
}

/* Connects to reader and selects the application; c->reader is set. */
static int
card_connect(struct card *c, char **cause)
{
	LONG rv;
	int ret = -1;

	rv = SCardConnect(c->ctx, c->reader, SCARD_SHARE_SHARED,
	    CARD_PROTOCOLS, &c->h, &c->proto);
	if (rv != SCARD_S_SUCCESS) {
		card_pcsc_cause(c->reader, rv, 0, cause);
		return -1;
	}
	c->connected = 1;
	if (card_begin(c, cause) != 0)
		return -1;
	if (card_select_active(c, cause) == 0 && card_read_info(c, cause) == 0)
		ret = 0;
	card_end(c);
	return ret;
}

/*
 * Lists the readers' names into names (a multi-string of PC/SC's); 0
 * with *names NULL when there are none.
 */
static int
card_reader_names(SCARDCONTEXT ctx, char **names, DWORD *len, char **cause)
{
	LONG rv;

	*names = NULL;
	*len = 0;
	rv = SCardListReaders(ctx, NULL, NULL, len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE)
		return 0;
	if (rv == SCARD_S_SUCCESS && *len > 0 && *len < 65536) {
		*names = xcalloc(1, *len + 1);
		rv = SCardListReaders(ctx, NULL, *names, len);
		if (rv == SCARD_E_NO_READERS_AVAILABLE) {
			free(*names);
			*names = NULL;
			return 0;
		}
	}
	if (rv != SCARD_S_SUCCESS) {
		free(*names);
		*names = NULL;
		card_pcsc_cause("", rv, 0, cause);
		return -1;
	}
	return 0;
}

/* Looks at what is in the reader r->name, leaving the card as it is. */
static void
card_probe(SCARDCONTEXT ctx, struct card_reader *r)
{
	struct card c;
	SCARD_READERSTATE rs;
	unsigned char aid[64];
	size_t aidlen;
	char *cause = NULL;
	int terminated;

	memset(&rs, 0, sizeof rs);
	rs.szReader = r->name;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	if (SCardGetStatusChange(ctx, 0, &rs, 1) != SCARD_S_SUCCESS ||
	    !(rs.dwEventState & SCARD_STATE_PRESENT))
		return;
	r->present = 1;
	memset(&c, 0, sizeof c);
	c.ctx = ctx;
	snprintf(c.reader, sizeof c.reader, "%s", r->name);
	if (SCardConnect(ctx, c.reader, SCARD_SHARE_SHARED, CARD_PROTOCOLS,
	    &c.h, &c.proto) != SCARD_S_SUCCESS)
		return;
	if (card_begin(&c, &cause) == 0) {
		if (card_select(&c, &terminated, &cause) == 0 && !terminated &&
		    card_get_data(&c, 0x004f, aid, sizeof aid, &aidlen,
		    &cause) == 0 &&
		    card_parse_aid(aid, aidlen, &c.info, NULL) == 0) {
			r->openpgp = 1;
			memcpy(r->serial, c.info.serial, sizeof r->serial);
			memcpy(r->version, c.info.version, sizeof r->version);
		}
		card_end(&c);
	}
	free(cause);
	SCardDisconnect(c.h, SCARD_LEAVE_CARD);
}

int
card_list_readers(struct card_reader **readers, size_t *n, char **cause)
{
	SCARDCONTEXT ctx;
	struct card_reader *r = NULL;
	char *names, *p;
	DWORD len;
	LONG rv;
	size_t count = 0, l;

	*readers = NULL;
	*n = 0;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS) {
		card_pcsc_cause("", rv, 0, cause);
		return -1;
	}
	if (card_reader_names(ctx, &names, &len, cause) != 0) {
		SCardReleaseContext(ctx);
		return -1;
	}
	for (p = names; p != NULL && p < names + len && *p != '\0' &&
	    count < CARD_READERS_MAX; p += l + 1) {
		l = strlen(p);
		if (l >= sizeof r->name)
			continue;
		r = xreallocarray(r, count + 1, sizeof *r);
		memset(&r[count], 0, sizeof r[count]);
		memcpy(r[count].name, p, l + 1);
		card_probe(ctx, &r[count]);
		count++;
	}
	free(names);
	SCardReleaseContext(ctx);
	*readers = r;
	*n = count;
	return 0;
}

/* Finds the one reader holding an OpenPGP card, for card_open(NULL). */
static int
card_find_reader(struct card *c, char **cause)
{
	struct card_reader *r;
	size_t n, i, found = 0;

	if (card_list_readers(&r, &n, cause) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!r[i].openpgp)
			continue;
		if (found++ == 0)
			memcpy(c->reader, r[i].name, sizeof r[i].name);
	}
	free(r);
	if (found == 1)
		return 0;
	if (found == 0)
		xcause(cause, "no reader holds an OpenPGP card: insert the "
		    "token's card");
	else
		xcause(cause, "%zu readers hold OpenPGP cards: name the "
		    "reader (token readers lists them)", found);
	return -1;
}

int
card_open(const char *reader, struct card **out, char **cause)
{
	struct card *c;
	LONG rv;

	*out = NULL;
	c = xcalloc(1, sizeof *c);
	if (reader != NULL) {
		if (strlen(reader) >= sizeof c->reader || *reader == '\0') {
			xcause(cause, "a reader name is 1 to %zu characters",
			    sizeof c->reader - 1);
			free(c);
			return -1;
		}
		memcpy(c->reader, reader, strlen(reader) + 1);
	}
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &c->ctx);
	if (rv != SCARD_S_SUCCESS) {
		card_pcsc_cause(reader != NULL ? reader : "", rv, 0, cause);
		free(c);
		return -1;
	}
	if ((reader == NULL && card_find_reader(c, cause) != 0) ||
	    card_connect(c, cause) != 0) {
		card_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* The bit of a PIN reference (81, 82, 83) in c->verified. */
static int
card_pw_bit(int pw)
{
	return pw == CARD_PW1_SIGN ? 1 : pw == CARD_PW1 ? 2 : 4;
}

/*
 * Drops the verified state of the PINs scd may have verified (VERIFY
 * P1=FF, OpenPGP card 3.x), so that no other client can use them; -1
 * when the card does not take it: then it must be reset.  A reset costs
 * the other clients sharing the card their state too (gpg's scdaemon
 * gives up on the card), so it is the fallback only.
 */
static int
card_unverify(struct card *c)
{
	static const int pws[] = { CARD_PW1_SIGN, CARD_PW1, CARD_PW3 };
	unsigned char hdr[4] = { 0x00, 0x20, 0xff, 0x00 };
	unsigned int sw;
	size_t i;
	int ret = 0;

	if (!c->verified)
		return 0;
	if (card_begin(c, NULL) != 0)
		return -1;
	for (i = 0; i < sizeof pws / sizeof pws[0] && ret == 0; i++) {
		if (!(c->verified & card_pw_bit(pws[i])))
			continue;
		hdr[3] = pws[i] & 0xff;
		if (card_apdu(c, "VERIFY (reset)", hdr, NULL, 0, 0, NULL, 0,
		    NULL, &sw, NULL) != 0 || sw != 0x9000)
			ret = -1;
	}
	c->held = 0;
	card_end(c);
	return ret;
}

void
card_close(struct card *c)
{
	if (c == NULL)
		return;
	if (c->connected)
		SCardDisconnect(c->h, card_unverify(c) == 0 ?
		    SCARD_LEAVE_CARD : SCARD_RESET_CARD);
	SCardReleaseContext(c->ctx);
	explicit_bzero(c, sizeof *c);
	free(c);
}

const char *
card_reader_name(const struct card *c)
{
	return c->reader;
}

int
card_get_info(struct card *c, struct card_info *info, char **cause)
{
	int ret = 0;

	/* every operation here keeps c->info as the card has it */
	if (!c->info_valid) {
		if (card_begin(c, cause) != 0)
			return -1;
		ret = card_read_info(c, cause);
		card_end(c);
	}
	if (ret == 0)
		*info = c->info;
	return ret;
}

/* The counter of a PIN reference. */
static int
card_tries(const struct card *c, int pw)
{
	return pw == CARD_PW3 ? c->info.pw3_tries : c->info.pw1_tries;
}

/*
 * Whether a status word says the PIN was not accepted: wrong (63Cx,
 * 6982), blocked (6983), or of a length the card refuses (6700, 6A80).
 */
static int
card_sw_wrong(unsigned int sw)
{
	return (sw & 0xfff0) == 0x63c0 || sw == 0x6982 || sw == 0x6983 ||
	    sw == 0x6700 || sw == 0x6a80;
}

/*
 * Sends a command checking a PIN (VERIFY, CHANGE REFERENCE DATA) inside a
 * transaction and reads the counter it changed: 0, CARD_WRONG or -1.
 */
static int
card_check(struct card *c, const char *what, const unsigned char hdr[4],
    const unsigned char *data, size_t len, char **cause)
{
	unsigned int sw;

	/* a new PW1 may count as verified for both its references */
	c->verified |= hdr[1] == 0x24 && hdr[3] != CARD_PW3 ?
	    card_pw_bit(CARD_PW1_SIGN) | card_pw_bit(CARD_PW1) :
	    card_pw_bit(hdr[3]);
	c->info_valid = 0;
	if (card_apdu(c, what, hdr, data, len, 0, NULL, 0, NULL, &sw,
	    cause) != 0)
		return -1;
	if (sw != 0x9000 && !card_sw_wrong(sw)) {
		card_sw_cause(c, what, sw, cause);
		return -1;
	}
	if (card_read_tries(c, cause) != 0)
		return -1;
	return sw == 0x9000 ? 0 : CARD_WRONG;
}

/* Checks a PIN's length against what an APDU and the card take. */
static int
card_pin_ok(const char *pin, size_t min, int max, const char *name,
    char **cause)
{
	size_t len = strlen(pin);

	if (max <= 0 || max > 127)
		max = 127;
	if (len < min || len > (size_t)max) {
		xcause(cause, "the card takes a %s of %zu to %d bytes",
		    name, min, max);
		return -1;
	}
	return 0;
}

/* Checks that a PIN to verify fits a VERIFY (1 to 127 bytes). */
static int
card_secret_ok(const char *pin, const char *name, char **cause)
{
	if (*pin == '\0' || strlen(pin) > 127) {
		xcause(cause, "a %s is 1 to 127 bytes for the card", name);
		return -1;
	}
	return 0;
}

/* VERIFY of pw, inside a transaction: 0, CARD_WRONG or -1. */
static int
card_verify_locked(struct card *c, int pw, const char *pin, char **cause)
{
	unsigned char hdr[4] = { 0x00, 0x20, 0x00, pw & 0xff };

	return card_check(c, "VERIFY", hdr, (const unsigned char *)pin,
	    strlen(pin), cause);
}

int
card_verify(struct card *c, int pw, const char *pin, int *tries_left,
    char **cause)
{
	int ret;

	if (pw != CARD_PW1_SIGN && pw != CARD_PW1 && pw != CARD_PW3) {
		xcause(cause, "no PIN reference %02X on an OpenPGP card", pw);
		return -1;
	}
	if (card_secret_ok(pin, "PIN", cause) != 0 ||
	    card_begin(c, cause) != 0)
		return -1;
	ret = card_verify_locked(c, pw, pin, cause);
	if (ret == 0)
		c->held = 1;
	card_end(c);
	if (ret >= 0)
		*tries_left = card_tries(c, pw);
	return ret;
}

int
card_change_pin(struct card *c, int pw, const char *old,
    const char *new_pin, int *tries_left, char **cause)
{
	unsigned char hdr[4] = { 0x00, 0x24, 0x00, pw & 0xff };
	unsigned char data[254];
	size_t ol, nl;
	int ret;

	if (pw != CARD_PW1_SIGN && pw != CARD_PW3) {
		xcause(cause, "CHANGE REFERENCE DATA is for PW1 (81) or PW3 "
		    "(83), not %02X", pw);
		return -1;
	}
	if (pw == CARD_PW3 ? card_pin_ok(new_pin, CARD_PW3_MIN,
	    c->info.pw3_max_len, "PUK", cause) != 0 : card_pin_ok(new_pin,
	    CARD_PW1_MIN, c->info.pw1_max_len, "PIN", cause) != 0)
		return -1;
	if (card_secret_ok(old, pw == CARD_PW3 ? "PUK" : "PIN", cause) != 0)
		return -1;
	ol = strlen(old);
	nl = strlen(new_pin);
	memcpy(data, old, ol);
	memcpy(data + ol, new_pin, nl);
	if (card_begin(c, cause) != 0) {
		explicit_bzero(data, sizeof data);
		return -1;
	}
	ret = card_check(c, "CHANGE REFERENCE DATA", hdr, data, ol + nl,
	    cause);
	explicit_bzero(data, sizeof data);
	card_end(c);
	if (ret >= 0)
		*tries_left = card_tries(c, pw);
	return ret;
}

int
card_unblock(struct card *c, const char *puk, const char *new_pin,
    int *tries_left, char **cause)
{
	static const unsigned char reset[4] = { 0x00, 0x2c, 0x02, 0x81 };
	int ret;

	if (card_pin_ok(new_pin, CARD_PW1_MIN, c->info.pw1_max_len, "PIN",
	    cause) != 0)
		return -1;
	if (card_secret_ok(puk, "PUK", cause) != 0 ||
	    card_begin(c, cause) != 0)
		return -1;
	ret = card_verify_locked(c, CARD_PW3, puk, cause);
	if (ret == 0) {
		c->held = 1;
		c->verified |= card_pw_bit(CARD_PW1_SIGN) |
		    card_pw_bit(CARD_PW1);
	}
	c->info_valid = 0;
	if (ret == 0 && (card_apdu_ok(c, "RESET RETRY COUNTER", reset,
	    (const unsigned char *)new_pin, strlen(new_pin), cause) != 0 ||
	    card_read_tries(c, cause) != 0))
		ret = -1;
	card_end(c);
	if (ret >= 0)
		*tries_left = c->info.pw3_tries;
	return ret;
}

/*
 * Blocks pw with wrong VERIFYs (a factory reset needs PW3 blocked or
 * verified).  The wrong PIN is gpg's: eight '@', longer than PW1's
 * shortest and as long as PW3's.
 */
static int
card_block(struct card *c, int pw, char **cause)
{
	static const char wrong[] = "@@@@@@@@";
	int i, ret;

	for (i = 0; i < CARD_BLOCK_TRIES; i++) {
		ret = card_verify_locked(c, pw, wrong, cause);
		if (ret != CARD_WRONG)
			return ret;
		if (card_tries(c, pw) == 0)
			return 0;
	}
	xcause(cause, "the card in reader '%s' did not block its PIN %02X "
	    "after %d wrong tries", c->reader, pw, CARD_BLOCK_TRIES);
	return -1;
}

int
card_factory_reset(struct card *c, char **cause)
{
	static const unsigned char terminate[4] = { 0x00, 0xe6, 0x00, 0x00 };
	static const unsigned char activate[4] = { 0x00, 0x44, 0x00, 0x00 };
	int terminated, ret = -1;

	if (card_begin(c, cause) != 0)
		return -1;
	c->info_valid = 0;
	if (card_block(c, CARD_PW1_SIGN, cause) != 0 ||
	    card_block(c, CARD_PW3, cause) != 0 ||
	    card_apdu_ok(c, "TERMINATE DF", terminate, NULL, 0, cause) != 0 ||
	    card_apdu_ok(c, "ACTIVATE FILE", activate, NULL, 0, cause) != 0 ||
	    card_select(c, &terminated, cause) != 0 ||
	    card_read_info(c, cause) != 0)
		goto out;
	if (terminated || !c->info.factory) {
		xcause(cause, "the card in reader '%s' is not in its factory "
		    "state after TERMINATE DF and ACTIVATE FILE", c->reader);
		goto out;
	}
	ret = 0;
out:
	card_end(c);
	return ret;
}

/* Sets the decryption key's attributes to ECDH P-256 unless they are. */
static int
card_set_ecdh(struct card *c, char **cause)
{
	static const unsigned char put[4] = { 0x00, 0xda, 0x00, 0xc2 };
	char *why = NULL;

	if (c->info.ecdh_p256)
		return 0;
	if (card_apdu_ok(c, "PUT DATA C2", put, card_ecdh_p256,
	    sizeof card_ecdh_p256, &why) != 0) {
		xcause(cause, "the card in reader '%s' cannot take ECDH P-256 "
		    "for its decryption key: %s", c->reader, why);
		free(why);
		return -1;
	}
	c->info.ecdh_p256 = 1;
	return 0;
}

/*
 * GENERATE ASYMMETRIC KEY PAIR for the decryption key (CRT B8): p1 80
 * makes a new one, 81 reads the one there; pub gets its point.
 */
static int
card_key_point(struct card *c, unsigned char p1, unsigned char pub[65],
    char **cause)
{
	static const unsigned char crt[2] = { 0xb8, 0x00 };
	unsigned char hdr[4] = { 0x00, 0x47, p1, 0x00 };
	unsigned char buf[CARD_ANSWER_MAX];
	const char *what = p1 == 0x80 ? "GENERATE ASYMMETRIC KEY PAIR" :
	    "reading the decryption key (GENERATE ASYMMETRIC KEY PAIR 81)";
	size_t len;
	unsigned int sw;
	char *why = NULL;

	if (card_apdu(c, what, hdr, crt, sizeof crt, 1, buf, sizeof buf, &len,
	    &sw, cause) != 0)
		return -1;
	if (sw == 0x6a88) {
		xcause(cause, "the card in reader '%s' has no decryption key",
		    c->reader);
		return -1;
	}
	if (sw != 0x9000) {
		card_sw_cause(c, what, sw, cause);
		return -1;
	}
	if (card_parse_point(buf, len, pub, &why) != 0) {
		xcause(cause, "the card in reader '%s' holds a decryption key "
		    "scd cannot use: %s", c->reader, why);
		free(why);
		return -1;
	}
	return 0;
}

int
card_generate_decrypt_key(struct card *c, unsigned char pub[65],
    char **cause)
{
	static const unsigned char put_fpr[4] = { 0x00, 0xda, 0x00, 0xc8 };
	static const unsigned char put_time[4] = { 0x00, 0xda, 0x00, 0xcf };
	unsigned char fpr[20], when[4];
	uint32_t now = (uint32_t)time(NULL);
	int ret = -1;

	if (card_begin(c, cause) != 0)
		return -1;
	c->info_valid = 0;
	if (card_set_ecdh(c, cause) != 0 ||
	    card_key_point(c, 0x80, pub, cause) != 0)
		goto out;
	/* gpg finds the key by its fingerprint and shows when it was made */
	if (card_ecdh_fingerprint(pub, now, fpr) != 0) {
		xcause(cause, "cannot compute the key's fingerprint (SHA-1)");
		goto out;
	}
	when[0] = (now >> 24) & 0xff;
	when[1] = (now >> 16) & 0xff;
	when[2] = (now >> 8) & 0xff;
	when[3] = now & 0xff;
	if (card_apdu_ok(c, "PUT DATA C8", put_fpr, fpr, sizeof fpr,
	    cause) != 0 ||
	    card_apdu_ok(c, "PUT DATA CF", put_time, when, sizeof when,
	    cause) != 0 ||
	    card_read_info(c, cause) != 0)
		goto out;
	ret = 0;
out:
	card_end(c);
	return ret;
}

int
card_read_decrypt_key(struct card *c, unsigned char pub[65], char **cause)
{
	int ret;

	if (card_begin(c, cause) != 0)
		return -1;
	ret = card_key_point(c, 0x81, pub, cause);
	card_end(c);
	return ret;
}

int
card_decipher(struct card *c, const unsigned char eph_pub[65],
    unsigned char z[32], char **cause)
{
	static const unsigned char pso[4] = { 0x00, 0x2a, 0x80, 0x86 };
	unsigned char data[7 + 65], buf[256];
	size_t len = 0;
	unsigned int sw;
	int ret = -1;

	if (eph_pub[0] != 0x04) {
		xcause(cause, "the ephemeral key is not an uncompressed point");
		return -1;
	}
	/* A6 { 7F49 { 86 41 04 || X || Y } } */
	data[0] = 0xa6;
	data[1] = 5 + 65;
	data[2] = 0x7f;
	data[3] = 0x49;
	data[4] = 2 + 65;
	data[5] = 0x86;
	data[6] = 65;
	memcpy(data + 7, eph_pub, 65);
	if (card_begin(c, cause) != 0)
		return -1;
	if (card_apdu(c, "PSO:DECIPHER", pso, data, sizeof data, 1, buf,
	    sizeof buf, &len, &sw, cause) != 0)
		goto out;
	if (sw == 0x6982) {
		xcause(cause, "the card in reader '%s' refused PSO:DECIPHER: "
		    "the PIN is not verified (6982)", c->reader);
		goto out;
	}
	if (sw != 0x9000) {
		card_sw_cause(c, "PSO:DECIPHER", sw, cause);
		goto out;
	}
	/* the x-coordinate; some cards give the whole point */
	if (len == 32)
		memcpy(z, buf, 32);
	else if (len == 65 && buf[0] == 0x04)
		memcpy(z, buf + 1, 32);
	else {
		xcause(cause, "the card in reader '%s' answered PSO:DECIPHER "
		    "with %zu bytes, not a P-256 shared secret", c->reader,
		    len);
		goto out;
	}
	ret = 0;
out:
	explicit_bzero(buf, sizeof buf);
	card_end(c);
	return ret;
}
