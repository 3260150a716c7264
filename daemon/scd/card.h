/*
 * The OpenPGP card (3.4) through pcsc-lite: the subset scd needs to keep
 * a token's decryption key on a card and use it only after VERIFY.
 * Called only from scd's worker thread.  Every function returns 0, or -1
 * with *cause set; the verifying ones return CARD_WRONG for a wrong PIN
 * and set *tries_left from the card.
 */
#ifndef SCD_CARD_H
#define SCD_CARD_H

#include <stddef.h>

#define CARD_WRONG 1

struct card;

struct card_info {
	char serial[32];      /* "000F:0000A1B2" from the AID (manufacturer:serial, hex) */
	char version[8];      /* "3.4" */
	int pw1_tries, rc_tries, pw3_tries;   /* PW status bytes, DO C4 */
	int pw1_max_len, pw3_max_len;
	int factory;          /* PW3 is the factory default 12345678 is unknown: factory = the
	                         decryption key slot is empty (fingerprint C5 bytes 21..40 all 0) */
	int has_decrypt_key;
};

struct card_reader {
	char name[128];
	int present;
	int openpgp;
	char serial[32];
	char version[8];
};

int card_list_readers(struct card_reader **readers, size_t *n, char **cause);
int card_open(const char *reader, struct card **out, char **cause); /* connect (T=1, shared),
	SELECT the OpenPGP AID D2 76 00 01 24 01, read info */
void card_close(struct card *c);
int card_get_info(struct card *c, struct card_info *info, char **cause);
int card_verify(struct card *c, int pw /* 0x82 PW1 for PSO:DECIPHER, 0x83 PW3 */,
    const char *pin, int *tries_left, char **cause);
int card_change_pin(struct card *c, int pw /* 0x81/0x83 */, const char *old, const char *new_pin,
    int *tries_left, char **cause);
int card_unblock(struct card *c, const char *puk /* PW3 */, const char *new_pin,
    int *tries_left, char **cause); /* VERIFY PW3, then RESET RETRY COUNTER P1=02 */
int card_factory_reset(struct card *c, char **cause); /* wrong VERIFYs until PW1 and PW3 are
	blocked, TERMINATE DF (E6), ACTIVATE FILE (44), SELECT again: PW1 123456, PW3 12345678 */
int card_generate_decrypt_key(struct card *c, unsigned char pub[65], char **cause); /* needs PW3
	verified: PUT DATA C2 = ECDH P-256 (12 2A 86 48 CE 3D 03 01 07), GENERATE (47 80 00, CRT B8),
	store the fingerprint (PUT DATA C7) and generation time (CF) as gpg would */
int card_read_decrypt_key(struct card *c, unsigned char pub[65], char **cause); /* 47 81 */
int card_decipher(struct card *c, const unsigned char eph_pub[65], unsigned char z[32],
    char **cause); /* PSO:DECIPHER 2A 80 86 with A6 { 7F49 { 86 eph_pub } }; PW1 (82) verified */

#endif
