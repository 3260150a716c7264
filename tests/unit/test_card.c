/*
 * Unit tests of the OpenPGP card driver's parts that need no card: the
 * BER-TLV reader against well-formed and hostile answers, the application
 * related data, the public key of GENERATE, status words in words and the
 * OpenPGP fingerprint of an ECDH key (against one gpg computed).  The APDU
 * exchange (GET RESPONSE, 6Cxx, bounds, the card pulled out, the held
 * transaction) runs against a scripted PC/SC reader standing in for
 * pcsc-lite; the card itself is tested through pcscd and the virtual card
 * (scd-card.sh).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <winscard.h>

#include "card.h"

/* Converts hex into buf; returns the bytes written. */
static size_t
unhex(const char *hex, unsigned char *buf, size_t cap)
{
	size_t n = 0;
	unsigned int b;

	while (hex[0] != '\0' && hex[1] != '\0' && n < cap) {
		if (hex[0] == ' ') {
			hex++;
			continue;
		}
		assert_int_equal(sscanf(hex, "%2x", &b), 1);
		buf[n++] = (unsigned char)b;
		hex += 2;
	}
	return n;
}

/*
 * gpg 2.2's subkey "nistp256 encr" made at 1796282090: its point, and the
 * fingerprint gpg --with-colons gave.
 * Proves: none (the card's decryption key is named as gpg names it).
 */
static void
test_card_fingerprint_gpg_same(void **state)
{
	unsigned char pub[65], fpr[20], want[20];

	(void)state;
	assert_int_equal(unhex("04421372B684276FA78BA2B8EF87D28DD9CB3200E1A5"
	    "52D1306831998778C924B21375FD3DF75773196CEF9026C5A55184DBC284A383"
	    "E2DB0DD9275D9D1E552BA9", pub, sizeof pub), 65);
	assert_int_equal(unhex("D574D1C04216D39A2AA8813F7A78A29240377254",
	    want, sizeof want), 20);
	assert_int_equal(card_ecdh_fingerprint(pub, 1796282090u, fpr), 0);
	assert_memory_equal(fpr, want, 20);
	/* another time, another fingerprint */
	assert_int_equal(card_ecdh_fingerprint(pub, 1796282091u, fpr), 0);
	assert_memory_not_equal(fpr, want, 20);
}

/*
 * Objects are found inside constructed ones, with two-byte tags, long
 * lengths and padding between objects.
 * Proves: none (the card's answers are parsed as BER-TLV).
 */
static void
test_card_tlv_nested_found(void **state)
{
	unsigned char buf[512];
	const unsigned char *v;
	size_t n, vl;

	(void)state;
	n = unhex("6E 81 10 4F 02 AA BB 00 FF 73 08 C4 01 07 5F 52 02 01 02",
	    buf, sizeof buf);
	/* the outer length says 0x10: exactly what follows */
	assert_int_equal(n, 3 + 0x10);
	assert_int_equal(card_tlv_find(buf, n, 0x4f, &v, &vl), 0);
	assert_int_equal(vl, 2);
	assert_int_equal(v[0], 0xaa);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), 0);
	assert_int_equal(vl, 1);
	assert_int_equal(v[0], 0x07);
	assert_int_equal(card_tlv_find(buf, n, 0x5f52, &v, &vl), 0);
	assert_int_equal(vl, 2);
	assert_int_equal(card_tlv_find(buf, n, 0x6e, &v, &vl), 0);
	assert_int_equal(vl, 0x10);
	assert_int_equal(card_tlv_find(buf, n, 0xc5, &v, &vl), -1);

	/* 82: a two-byte length */
	memset(buf, 0x11, sizeof buf);
	buf[0] = 0x73;
	buf[1] = 0x82;
	buf[2] = 0x01;
	buf[3] = 0x04;
	buf[4] = 0xc5;
	buf[5] = 0x81;
	buf[6] = 0xff;
	assert_int_equal(card_tlv_find(buf, 4 + 0x104, 0xc5, &v, &vl), 0);
	assert_int_equal(vl, 0xff);
	assert_ptr_equal(v, buf + 7);
}

/*
 * Lengths past the end, cut tags and lengths, long tags, lengths of more
 * than two bytes and nesting too deep are refused, never read past.
 * Proves: none (a hostile card cannot make scd read out of bounds).
 */
static void
test_card_tlv_hostile_refused(void **state)
{
	unsigned char buf[64];
	const unsigned char *v;
	size_t n, vl;

	(void)state;
	/* the value claims more than there is */
	n = unhex("C4 08 01 02 03", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), -1);
	/* the inner object claims more than its parent holds */
	n = unhex("73 03 C4 05 01 02 03 04 05", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), -1);
	/* a cut length */
	n = unhex("C4 81", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), -1);
	n = unhex("C4 82 00", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), -1);
	/* a length of three bytes is more than any card needs */
	n = unhex("C4 83 00 00 01 00", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), -1);
	/* a cut tag; a tag of four bytes */
	n = unhex("7F", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0x7f49, &v, &vl), -1);
	n = unhex("7F 81 82 03 01 00", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0x00, &v, &vl), -1);
	/* nothing at all */
	assert_int_equal(card_tlv_find(buf, 0, 0xc4, &v, &vl), -1);
	assert_int_equal(card_tlv_find(NULL, 10, 0xc4, &v, &vl), -1);
	/* deeper than scd looks */
	n = unhex("61 0C 62 0A 63 08 64 06 65 04 66 02 C4 00", buf,
	    sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), -1);
	assert_int_equal(card_tlv_find(buf, n, 0x66, &v, &vl), -1);
	assert_int_equal(card_tlv_find(buf, n, 0x65, &v, &vl), 0);
	/* a length beyond the object after a good one */
	n = unhex("C0 01 00 C4 7F 00", buf, sizeof buf);
	assert_int_equal(card_tlv_find(buf, n, 0xc0, &v, &vl), 0);
	assert_int_equal(card_tlv_find(buf, n, 0xc4, &v, &vl), -1);
}

/* The AID of a card 3.4 of manufacturer 0FAB, serial 0000A1B2. */
static size_t
card_aid(unsigned char aid[16])
{
	return unhex("D2760001240103040FAB0000A1B20000", aid, 16);
}

/* Application related data with C4 and C5 set as given. */
static size_t
card_ard(unsigned char *buf, size_t cap, const char *c4, int dec_fpr)
{
	unsigned char dos[256];
	char hex[1024];
	size_t n, d;
	int i;

	n = (size_t)snprintf(hex, sizeof hex, "C0 0A 7D 00 0B FE 08 00 00 FF "
	    "00 00 C2 09 122A8648CE3D030107 C4 07 %s C5 3C ", c4);
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(hex + n, sizeof hex - n, "%02X",
		    i >= 20 && i < 40 && dec_fpr ? i : 0);
	d = unhex(hex, dos, sizeof dos);
	/* 6E { 5F52 (historical bytes) 73 { the data objects } } */
	n = unhex("6E 81 00 5F 52 0A 00 73 00 00 E0 05 90 00 00 00 73 81",
	    buf, cap);
	assert_true(n + 1 + d <= cap);
	buf[n++] = (unsigned char)d;
	memcpy(buf + n, dos, d);
	n += d;
	buf[2] = (unsigned char)(n - 3);
	return n;
}

/*
 * The serial number, version, counters, the empty or filled decryption
 * slot and the key attributes come from the AID and 6E.
 * Proves: none (the card's state is read as the card standard says).
 */
static void
test_card_parse_info_fields(void **state)
{
	unsigned char ard[512], aid[16];
	struct card_info info;
	size_t n, an;
	char *cause = NULL;

	(void)state;
	n = card_ard(ard, sizeof ard, "00 7F 7F 7F 03 00 02", 0);
	an = card_aid(aid);
	assert_int_equal(card_parse_info(ard, n, aid, an, &info, &cause), 0);
	assert_string_equal(info.serial, "0FAB:0000A1B2");
	assert_string_equal(info.version, "3.4");
	assert_int_equal(info.pw1_tries, 3);
	assert_int_equal(info.rc_tries, 0);
	assert_int_equal(info.pw3_tries, 2);
	assert_int_equal(info.pw1_max_len, 127);
	assert_int_equal(info.factory, 1);
	assert_int_equal(info.has_decrypt_key, 0);
	assert_int_equal(info.ecdh_p256, 1);
	assert_int_equal(info.attrs_changeable, 1);

	n = card_ard(ard, sizeof ard, "01 20 20 20 01 00 03", 1);
	assert_int_equal(card_parse_info(ard, n, aid, an, &info, &cause), 0);
	assert_int_equal(info.factory, 0);
	assert_int_equal(info.has_decrypt_key, 1);
	assert_int_equal(info.decrypt_fpr[0], 20);
	assert_int_equal(info.pw1_tries, 1);
	assert_int_equal(info.pw1_max_len, 32);
}

/*
 * A foreign AID, PW status bytes that are short or missing, and short
 * fingerprints are refused with a cause.
 * Proves: none (a hostile card cannot make scd read out of bounds).
 */
static void
test_card_parse_info_bad_refused(void **state)
{
	struct card_info info;
	unsigned char ard[512], aid[16];
	char *cause = NULL;
	size_t n, an;

	(void)state;
	an = card_aid(aid);
	/* C4 of 6 bytes */
	n = card_ard(ard, sizeof ard, "00 7F 7F 7F 03 00", 0);
	/* C4 then takes C5's tag: C5 is not there */
	assert_int_equal(card_parse_info(ard, n, aid, an, &info, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	/* cut short: the outer object is malformed, nothing is found */
	n = card_ard(ard, sizeof ard, "00 7F 7F 7F 03 00 03", 0);
	assert_int_equal(card_parse_info(ard, n - 1, aid, an, &info, &cause),
	    -1);
	assert_non_null(strstr(cause, "C4"));
	free(cause);
	cause = NULL;
	n = unhex("C4 07 00 7F 7F 7F 03 00 03 C5 02 00 00", ard, sizeof ard);
	assert_int_equal(card_parse_info(ard, n, aid, an, &info, &cause), -1);
	assert_non_null(strstr(cause, "C5"));
	free(cause);
	cause = NULL;
	n = card_ard(ard, sizeof ard, "00 7F 7F 7F 03 00 03", 0);

	assert_int_equal(card_parse_info(ard, n, aid, 13, &info, &cause), -1);
	assert_non_null(strstr(cause, "AID"));
	free(cause);
	cause = NULL;
	aid[5] = 0x02;
	assert_int_equal(card_parse_info(ard, n, aid, an, &info, &cause), -1);
	free(cause);
}

/*
 * GENERATE's answer gives the point; a compressed point, a short one or
 * one outside 7F49 is refused.
 * Proves: none (a hostile card cannot make scd read out of bounds).
 */
static void
test_card_parse_point(void **state)
{
	unsigned char buf[128], pub[65];
	char hex[400];
	size_t n;
	char *cause = NULL;
	int i;

	(void)state;
	n = snprintf(hex, sizeof hex, "7F49 43 86 41 04");
	for (i = 0; i < 64; i++)
		n += snprintf(hex + n, sizeof hex - n, "%02X", i);
	n = unhex(hex, buf, sizeof buf);
	assert_int_equal(n, 5 + 65);
	assert_int_equal(card_parse_point(buf, n, pub, &cause), 0);
	assert_int_equal(pub[0], 0x04);
	assert_int_equal(pub[64], 63);

	buf[5] = 0x02;
	assert_int_equal(card_parse_point(buf, n, pub, &cause), -1);
	assert_non_null(strstr(cause, "uncompressed"));
	free(cause);
	cause = NULL;
	buf[5] = 0x04;
	assert_int_equal(card_parse_point(buf, n - 1, pub, &cause), -1);
	free(cause);
	cause = NULL;
	/* the point alone, without 7F49 */
	assert_int_equal(card_parse_point(buf + 3, n - 3, pub, &cause), -1);
	free(cause);
}

/*
 * Status words read as words.
 * Proves: none (the card's refusals are readable).
 */
static void
test_card_sw_words(void **state)
{
	(void)state;
	assert_string_equal(card_sw_str(0x6982),
	    "security status not satisfied");
	assert_string_equal(card_sw_str(0x6983),
	    "authentication method blocked");
	assert_string_equal(card_sw_str(0x63c2), "wrong PIN");
	assert_string_equal(card_sw_str(0x6a88), "referenced data not found");
	assert_string_equal(card_sw_str(0x1234), "an unknown status");
}

/* One exchange the scripted reader expects: the instruction, its answer. */
struct mock_step {
	unsigned char ins;
	const char *answer; /* hex, SW included */
	LONG rv; /* else the exchange fails so */
};

/* The scripted reader: what it expects, what it saw. */
static struct {
	const struct mock_step *steps;
	size_t n, pos;
	unsigned char last[300];
	size_t last_len;
	int in_transaction, begins, present;
	int reset; /* the next transaction finds the card reset */
	int reconnects;
	DWORD disposition;
} mock;

static void
mock_script(const struct mock_step *steps, size_t n)
{
	memset(&mock, 0, sizeof mock);
	mock.steps = steps;
	mock.n = n;
	mock.present = 1;
}

LONG
SCardEstablishContext(DWORD scope, LPCVOID r1, LPCVOID r2,
    LPSCARDCONTEXT ctx)
{
	*ctx = 1;
	return SCARD_S_SUCCESS;
}

LONG
SCardReleaseContext(SCARDCONTEXT ctx)
{
	return SCARD_S_SUCCESS;
}

LONG
SCardConnect(SCARDCONTEXT ctx, LPCSTR reader, DWORD share, DWORD protos,
    LPSCARDHANDLE h, LPDWORD proto)
{
	assert_string_equal(reader, "mock reader");
	assert_int_equal(share, SCARD_SHARE_SHARED);
	*h = 2;
	*proto = SCARD_PROTOCOL_T1;
	return SCARD_S_SUCCESS;
}

LONG
SCardReconnect(SCARDHANDLE h, DWORD share, DWORD protos, DWORD init,
    LPDWORD proto)
{
	assert_int_equal(share, SCARD_SHARE_SHARED);
	/* reconnecting must not reset the card again */
	assert_int_equal(init, SCARD_LEAVE_CARD);
	mock.reconnects++;
	*proto = SCARD_PROTOCOL_T1;
	return SCARD_S_SUCCESS;
}

LONG
SCardDisconnect(SCARDHANDLE h, DWORD disposition)
{
	mock.disposition = disposition;
	return SCARD_S_SUCCESS;
}

LONG
SCardBeginTransaction(SCARDHANDLE h)
{
	assert_false(mock.in_transaction);
	if (mock.reset) {
		mock.reset = 0;
		return SCARD_W_RESET_CARD;
	}
	mock.in_transaction = 1;
	mock.begins++;
	return SCARD_S_SUCCESS;
}

LONG
SCardEndTransaction(SCARDHANDLE h, DWORD disposition)
{
	assert_true(mock.in_transaction);
	mock.in_transaction = 0;
	return SCARD_S_SUCCESS;
}

LONG
SCardGetStatusChange(SCARDCONTEXT ctx, DWORD timeout,
    SCARD_READERSTATE *rs, DWORD n)
{
	if (rs->dwCurrentState != SCARD_STATE_UNAWARE)
		return SCARD_E_TIMEOUT;
	rs->dwEventState = mock.present ? SCARD_STATE_PRESENT :
	    SCARD_STATE_EMPTY;
	return SCARD_S_SUCCESS;
}

LONG
SCardTransmit(SCARDHANDLE h, const SCARD_IO_REQUEST *pci, LPCBYTE cmd,
    DWORD len, SCARD_IO_REQUEST *rpci, LPBYTE resp, LPDWORD rlen)
{
	const struct mock_step *st;
	size_t n;

	assert_true(mock.in_transaction);
	assert_true(mock.pos < mock.n);
	st = &mock.steps[mock.pos++];
	assert_true(len >= 4 && len <= sizeof mock.last);
	assert_int_equal(cmd[1], st->ins);
	memcpy(mock.last, cmd, len);
	mock.last_len = len;
	if (st->rv != SCARD_S_SUCCESS)
		return st->rv;
	n = unhex(st->answer, resp, *rlen);
	*rlen = (DWORD)n;
	return SCARD_S_SUCCESS;
}

/* Writes the application related data as hex, then sw. */
static void
mock_ard_hex(char *out, size_t cap, int dec_fpr, const char *c4,
    const char *sw)
{
	unsigned char ard[512];
	size_t n, i;

	n = card_ard(ard, sizeof ard, c4, dec_fpr);
	assert_true(2 * n + strlen(sw) < cap);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", ard[i]);
	snprintf(out + 2 * n, cap - 2 * n, "%s", sw);
}

#define MOCK_AID "D2760001240103040FAB0000A1B20000"

/*
 * An answer in pieces (61xx, GET RESPONSE) is joined, a 6Cxx is repeated
 * with the length asked for; card_get_info then costs no APDU.
 * Proves: none (the card's answers are read as ISO 7816-4 says).
 */
static void
test_card_open_pieces_joined(void **state)
{
	char first[512], rest[512], full[1100];
	struct mock_step steps[] = {
		{ 0xa4, "9000", 0 },
		{ 0xca, "6C10", 0 },
		{ 0xca, MOCK_AID "9000", 0 },
		{ 0xca, first, 0 },
		{ 0xc0, rest, 0 },
	};
	struct card_info info;
	struct card *c;
	char *cause = NULL;
	size_t half;

	(void)state;
	mock_script(steps, 0);
	mock_ard_hex(full, sizeof full, 0, "00 7F 7F 7F 03 00 03", "");
	half = strlen(full) / 4 * 2;
	snprintf(first, sizeof first, "%.*s6100", (int)half, full);
	snprintf(rest, sizeof rest, "%s9000", full + half);
	mock_script(steps, sizeof steps / sizeof steps[0]);
	assert_int_equal(card_open("mock reader", &c, &cause), 0);
	assert_int_equal(mock.pos, mock.n);
	/* GET RESPONSE for 256 bytes (61 00) */
	assert_int_equal(mock.last_len, 5);
	assert_memory_equal(mock.last, "\x00\xc0\x00\x00\x00", 5);
	assert_int_equal(card_get_info(c, &info, &cause), 0);
	assert_int_equal(mock.pos, mock.n);
	assert_string_equal(info.serial, "0FAB:0000A1B2");
	assert_int_equal(info.pw1_tries, 3);
	assert_int_equal(info.factory, 1);
	assert_false(mock.in_transaction);
	card_close(c);
	/* nothing verified: nothing to unverify, the card left as it is */
	assert_int_equal(mock.disposition, SCARD_LEAVE_CARD);
}

/*
 * A card that answers 61xx forever, or more than the driver reads, is
 * refused with a cause and no read past a buffer.
 * Proves: none (a hostile card cannot make scd read out of bounds).
 */
static void
test_card_endless_answers_refused(void **state)
{
	static const struct mock_step endless[] = {
		{ 0xa4, "9000", 0 },
		{ 0xca, "0102036101", 0 },
		{ 0xc0, "046101", 0 }, { 0xc0, "056101", 0 },
		{ 0xc0, "066101", 0 }, { 0xc0, "076101", 0 },
		{ 0xc0, "086101", 0 }, { 0xc0, "096101", 0 },
		{ 0xc0, "0A6101", 0 }, { 0xc0, "0B6101", 0 },
		{ 0xc0, "0C6101", 0 }, { 0xc0, "0D6101", 0 },
		{ 0xc0, "0E6101", 0 }, { 0xc0, "0F6101", 0 },
		{ 0xc0, "106101", 0 }, { 0xc0, "116101", 0 },
		{ 0xc0, "126101", 0 },
	};
	struct mock_step big[3 + 9];
	char chunk[2 * 255 + 5];
	struct card *c;
	char *cause = NULL;
	size_t i;

	(void)state;
	mock_script(endless, sizeof endless / sizeof endless[0]);
	assert_int_equal(card_open("mock reader", &c, &cause), -1);
	assert_null(c);
	assert_non_null(strstr(cause, "kept answering GET DATA 4F"));
	free(cause);
	cause = NULL;

	/* 9 pieces of 255 bytes: more than the 2048 the driver reads */
	memset(chunk, 'A', 2 * 255);
	memcpy(chunk + 2 * 255, "61FF", 5);
	big[0] = (struct mock_step){ 0xa4, "9000", 0 };
	big[1] = (struct mock_step){ 0xca, MOCK_AID "9000", 0 };
	big[2] = (struct mock_step){ 0xca, chunk, 0 };
	for (i = 3; i < sizeof big / sizeof big[0]; i++)
		big[i] = (struct mock_step){ 0xc0, chunk, 0 };
	mock_script(big, sizeof big / sizeof big[0]);
	assert_int_equal(card_open("mock reader", &c, &cause), -1);
	assert_non_null(strstr(cause, "answered GET DATA 6E with more than "
	    "2048 bytes"));
	assert_false(mock.in_transaction);
	free(cause);
}

/*
 * A wrong PIN gives CARD_WRONG and the card's count; the right one holds
 * the transaction through PSO:DECIPHER until card_close has unverified
 * every PIN; a card that gives the whole point gives its x-coordinate.
 * Proves: CR 1.11 (the card's own counter is read after each check; no
 * other client finds a PIN verified by scd).
 */
static void
test_card_verify_held_until_close(void **state)
{
	char ard[1100], point[200], x[80];
	struct mock_step steps[] = {
		{ 0xa4, "9000", 0 },
		{ 0xca, MOCK_AID "9000", 0 },
		{ 0xca, ard, 0 },
		{ 0x20, "63C2", 0 },
		{ 0xca, "007F7F7F0200039000", 0 },
		{ 0x20, "9000", 0 },
		{ 0xca, "007F7F7F0300039000", 0 },
		{ 0x2a, point, 0 },
		{ 0x20, "9000", 0 },
	};
	unsigned char eph[65], z[32], want[32];
	struct card *c;
	char *cause = NULL;
	int tries = -1, i;

	(void)state;
	mock_script(steps, 0);
	mock_ard_hex(ard, sizeof ard, 1, "00 7F 7F 7F 03 00 03", "9000");
	for (i = 0; i < 32; i++) {
		snprintf(x + 2 * i, 3, "%02X", i + 1);
		want[i] = (unsigned char)(i + 1);
	}
	snprintf(point, sizeof point, "04%s%s9000", x, x);
	mock_script(steps, sizeof steps / sizeof steps[0]);
	memset(eph, 0x11, sizeof eph);
	eph[0] = 0x04;

	assert_int_equal(card_open("mock reader", &c, &cause), 0);
	assert_int_equal(card_verify(c, CARD_PW1, "wrong1", &tries, &cause),
	    CARD_WRONG);
	assert_int_equal(tries, 2);
	/* the PIN went in the command, after the header and its length */
	assert_memory_equal(mock.last, "\x00\xca\x00\xc4", 4);
	assert_false(mock.in_transaction);
	assert_int_equal(card_verify(c, CARD_PW1, "right1", &tries, &cause),
	    0);
	assert_int_equal(tries, 3);
	assert_true(mock.in_transaction);
	assert_int_equal(card_decipher(c, eph, z, &cause), 0);
	assert_memory_equal(z, want, 32);
	/* PSO:DECIPHER 2A 80 86 with A6 { 7F49 { 86 eph } } and Le */
	assert_int_equal(mock.last_len, 5 + 72 + 1);
	assert_memory_equal(mock.last, "\x00\x2a\x80\x86\x48\xa6\x46\x7f"
	    "\x49\x43\x86\x41\x04", 13);
	assert_true(mock.in_transaction);
	card_close(c);
	assert_int_equal(mock.pos, mock.n);
	/* VERIFY P1=FF of PW1 (82), the only one verified; card left */
	assert_memory_equal(mock.last, "\x00\x20\xff\x82", 4);
	assert_false(mock.in_transaction);
	assert_int_equal(mock.disposition, SCARD_LEAVE_CARD);
}

/*
 * A card another client reset between two operations is reconnected
 * and the application selected again before the next command.
 * Proves: none (another client's reset does not break scd's use).
 */
static void
test_card_reset_reselected(void **state)
{
	char ard[1100];
	struct mock_step steps[] = {
		{ 0xa4, "9000", 0 },
		{ 0xca, MOCK_AID "9000", 0 },
		{ 0xca, ard, 0 },
		{ 0xa4, "9000", 0 },
		{ 0x20, "63C1", 0 },
		{ 0xca, "007F7F7F0100039000", 0 },
		{ 0x20, "9000", 0 },
	};
	struct card *c;
	char *cause = NULL;
	int tries = -1;

	(void)state;
	mock_script(steps, 0);
	mock_ard_hex(ard, sizeof ard, 1, "00 7F 7F 7F 02 00 03", "9000");
	mock_script(steps, sizeof steps / sizeof steps[0]);
	assert_int_equal(card_open("mock reader", &c, &cause), 0);
	mock.reset = 1;
	assert_int_equal(card_verify(c, CARD_PW1, "wrong1", &tries, &cause),
	    CARD_WRONG);
	assert_int_equal(tries, 1);
	assert_int_equal(mock.reconnects, 1);
	card_close(c);
	assert_int_equal(mock.pos, mock.n);
}

/*
 * The card pulled out during an exchange: the cause names the reader and
 * says nothing was changed, whether PC/SC says so or the reader answers
 * nothing and then reports it empty.
 * Proves: none (a card gone is a clear error).
 */
static void
test_card_removed_named(void **state)
{
	char ard[1100];
	struct mock_step steps[] = {
		{ 0xa4, "9000", 0 },
		{ 0xca, MOCK_AID "9000", 0 },
		{ 0xca, ard, 0 },
		{ 0x2a, "", SCARD_W_REMOVED_CARD },
		{ 0x2a, "", 0 },
	};
	unsigned char eph[65], z[32];
	struct card *c;
	char *cause = NULL;

	(void)state;
	mock_script(steps, 0);
	mock_ard_hex(ard, sizeof ard, 1, "00 7F 7F 7F 03 00 03", "9000");
	mock_script(steps, sizeof steps / sizeof steps[0]);
	memset(eph, 0x22, sizeof eph);
	eph[0] = 0x04;
	assert_int_equal(card_open("mock reader", &c, &cause), 0);
	assert_int_equal(card_decipher(c, eph, z, &cause), -1);
	assert_string_equal(cause, "the card was removed from reader 'mock "
	    "reader' during the operation: nothing was changed");
	free(cause);
	cause = NULL;
	mock.present = 0;
	assert_int_equal(card_decipher(c, eph, z, &cause), -1);
	assert_string_equal(cause, "the card was removed from reader 'mock "
	    "reader' during the operation: nothing was changed");
	free(cause);
	assert_false(mock.in_transaction);
	card_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_card_fingerprint_gpg_same),
		cmocka_unit_test(test_card_tlv_nested_found),
		cmocka_unit_test(test_card_tlv_hostile_refused),
		cmocka_unit_test(test_card_parse_info_fields),
		cmocka_unit_test(test_card_parse_info_bad_refused),
		cmocka_unit_test(test_card_parse_point),
		cmocka_unit_test(test_card_sw_words),
		cmocka_unit_test(test_card_open_pieces_joined),
		cmocka_unit_test(test_card_endless_answers_refused),
		cmocka_unit_test(test_card_verify_held_until_close),
		cmocka_unit_test(test_card_reset_reselected),
		cmocka_unit_test(test_card_removed_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
