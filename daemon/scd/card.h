/*
 * The OpenPGP card (3.4) through pcsc-lite: the subset scd needs to keep
 * a token's decryption key on a card and use it only after VERIFY.
 * Called only from scd's worker thread (the calls may block).  Every
 * function returns 0, or -1 with *cause set; the verifying ones return
 * CARD_WRONG for a wrong PIN and set *tries_left from the card.
 */
#ifndef SCD_CARD_H
#define SCD_CARD_H

#include <stddef.h>
#include <stdint.h>

#define CARD_WRONG 1

/* The PIN references of VERIFY and CHANGE REFERENCE DATA. */
#define CARD_PW1_SIGN 0x81
#define CARD_PW1 0x82 /* PW1 for PSO:DECIPHER */
#define CARD_PW3 0x83 /* the admin PIN: scd's PUK */

/* The factory PINs a reset card has (OpenPGP card 3.4, 4.3). */
#define CARD_FACTORY_PW1 "123456"
#define CARD_FACTORY_PW3 "12345678"

/* The shortest PINs the card standard allows. */
#define CARD_PW1_MIN 6
#define CARD_PW3_MIN 8

struct card;

struct card_info {
	char serial[32]; /* "000F:0000A1B2": manufacturer:serial of the AID */
	char version[8]; /* "3.4" */
	int pw1_tries, rc_tries, pw3_tries; /* PW status bytes, DO C4 */
	int pw1_max_len, pw3_max_len;
	/*
	 * Whether PW3 is the factory default 12345678 is unknown: factory =
	 * the decryption key slot is empty (fingerprint C5 bytes 21..40 all
	 * 0).
	 */
	int factory;
	int has_decrypt_key;
	int ecdh_p256; /* the decryption key's attributes (C2) are ECDH P-256 */
	int attrs_changeable; /* C0: PUT DATA may change C1 to C3 */
	unsigned char decrypt_fpr[20]; /* C5 bytes 21..40 */
};

struct card_reader {
	char name[128];
	int present;
	int openpgp;
	char serial[32];
	char version[8];
};

/*
 * Lists the PC/SC readers (at most CARD_READERS_MAX) and what is in each;
 * none is no error (*n 0).  -1 with *cause set when PC/SC is down.
 */
#define CARD_READERS_MAX 32
int card_list_readers(struct card_reader **readers, size_t *n, char **cause);
/*
 * Connects to the card in reader (T=1 or T=0, shared; NULL: the only
 * reader holding an OpenPGP card), SELECTs the OpenPGP application (D2 76
 * 00 01 24 01; a terminated one is activated) and reads its info.
 */
int card_open(const char *reader, struct card **out, char **cause);
/*
 * Disconnects, dropping the verified state of every PIN first (VERIFY
 * P1=FF; a card that does not take it is reset), so that none stays
 * verified for another client; NULL does nothing.
 */
void card_close(struct card *c);
/* Returns the card's name of its reader. */
const char *card_reader_name(const struct card *c);
/*
 * The card's info: the application related data (6E), the AID (4F) and
 * the counters, as read at card_open and kept as the card has them by
 * every call since (read again only after a call that failed midway).
 */
int card_get_info(struct card *c, struct card_info *info, char **cause);
/*
 * VERIFY pin for pw (0x82 PW1 for PSO:DECIPHER, 0x83 PW3); CARD_WRONG when
 * the card refused it (63Cx, 6982, 6983); *tries_left is the counter the
 * card reports after the check.  A verified PIN keeps the card to this
 * caller (one PC/SC transaction) until card_close unverifies it.
 */
int card_verify(struct card *c, int pw, const char *pin, int *tries_left,
    char **cause);
/* CHANGE REFERENCE DATA of pw (0x81 PW1, 0x83 PW3), counted as VERIFY. */
int card_change_pin(struct card *c, int pw, const char *old,
    const char *new_pin, int *tries_left, char **cause);
/*
 * VERIFY PW3 (puk), then RESET RETRY COUNTER P1=02 setting PW1 to
 * new_pin; *tries_left is PW3's counter.
 */
int card_unblock(struct card *c, const char *puk, const char *new_pin,
    int *tries_left, char **cause);
/*
 * Resets the OpenPGP application as the card standard allows: wrong
 * VERIFYs until PW1 and PW3 are blocked, TERMINATE DF (E6), ACTIVATE FILE
 * (44), SELECT again: PW1 is 123456, PW3 12345678, no keys.
 */
int card_factory_reset(struct card *c, char **cause);
/*
 * Makes a new decryption key on the card (PW3 verified): PUT DATA C2 =
 * ECDH P-256 (12 2A 86 48 CE 3D 03 01 07), GENERATE (47 80, CRT B8),
 * then the fingerprint (C8) and generation time (CF) as gpg computes them.
 */
int card_generate_decrypt_key(struct card *c, unsigned char pub[65],
    char **cause);
/* Reads the decryption key's public point (47 81, CRT B8). */
int card_read_decrypt_key(struct card *c, unsigned char pub[65],
    char **cause);
/*
 * PSO:DECIPHER (2A 80 86) with A6 { 7F49 { 86 eph_pub } }, PW1 (82)
 * verified: z is the x-coordinate of the shared point.
 */
int card_decipher(struct card *c, const unsigned char eph_pub[65],
    unsigned char z[32], char **cause);

/*
 * The parts that need no card, for the unit tests.
 *
 * Finds tag in the BER-TLV objects of buf (searching into constructed
 * ones, a few levels deep); 0 with *val and *vlen inside buf, -1 when
 * absent or when the encoding is malformed before it is found.
 */
int card_tlv_find(const unsigned char *buf, size_t len, unsigned int tag,
    const unsigned char **val, size_t *vlen);
/* The status word in words: "security status not satisfied". */
const char *card_sw_str(unsigned int sw);
/*
 * The OpenPGP v4 fingerprint of an ECDH P-256 key (RFC 6637: KDF SHA-256,
 * AES-128) with this point and creation time, as gpg computes it.
 */
int card_ecdh_fingerprint(const unsigned char pub[65], uint32_t created,
    unsigned char fpr[20]);
/*
 * Fills info from the application related data (6E) and the AID (4F);
 * -1 with *cause set when they are malformed.
 */
int card_parse_info(const unsigned char *ard, size_t ardlen,
    const unsigned char *aid, size_t aidlen, struct card_info *info,
    char **cause);
/* Finds the uncompressed point (7F49 { 86 }) in a GENERATE answer. */
int card_parse_point(const unsigned char *buf, size_t len,
    unsigned char pub[65], char **cause);

#endif
