/*
 * The TLS client key of cml-forward: the device key, which stays in the
 * TPM.  OpenSSL gets the public half from the device certificate and a
 * key method whose signing calls tpm2d's org.cml.TPM.SignDigest (purpose
 * "tls-client"), over tpm2d's socket, blocking: cml-forward has nothing
 * else to do during a handshake.
 */
#ifndef FWD_TPMKEY_H
#define FWD_TPMKEY_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct fwd_tpmkey;

/*
 * Makes the key of cert (an EC key: the device key) whose private
 * operations go to tpm2d at sock_path.  NULL with *cause set when cert
 * holds no EC key.
 */
struct fwd_tpmkey *fwd_tpmkey_new(X509 *cert, const char *sock_path,
    char **cause);
/* The key for SSL_CTX_use_PrivateKey (borrowed). */
EVP_PKEY *fwd_tpmkey_pkey(struct fwd_tpmkey *k);
/*
 * Takes why the last signature failed (tpm2d's answer), or NULL when none
 * did since the last call; the caller frees it.
 */
char *fwd_tpmkey_error(struct fwd_tpmkey *k);
/* Frees the key and closes the connection to tpm2d; NULL does nothing. */
void fwd_tpmkey_free(struct fwd_tpmkey *k);

#endif
