/*
 * torauth.h: tor's authentication material: the cookie file, SAFECOOKIE
 * hashes (control-spec "AUTHCHALLENGE") and password files (the
 * QuotedString they are sent in is kvline.h's). HMAC-SHA256 comes from
 * nettle.
 *
 * File reading lives here and nowhere else in the request path, so that a
 * future seccomp policy has one place to allow it.
 */
#ifndef TORGATE_TORAUTH_H
#define TORGATE_TORAUTH_H

#include <stddef.h>
#include <stdint.h>

#define TOR_COOKIE_LEN 32
#define SAFECOOKIE_NONCE_LEN 32
#define SAFECOOKIE_HASH_LEN 32
/* Longest client nonce torgate accepts in AUTHCHALLENGE (bytes). */
#define SAFECOOKIE_CLIENT_NONCE_MAX 512

/* Read a 32-byte cookie file; 0, or -1 with errno set (EINVAL if the size
 * is wrong). */
int torauth_read_cookie(const char *path, uint8_t cookie[TOR_COOKIE_LEN]);

/* Compute SAFECOOKIE's server and client hashes for cookie, the client's
 * nonce and the server's nonce. Either output may be NULL. */
void torauth_safecookie(const uint8_t cookie[TOR_COOKIE_LEN],
    const uint8_t *client_nonce, size_t client_nonce_len,
    const uint8_t server_nonce[SAFECOOKIE_NONCE_LEN],
    uint8_t server_hash[SAFECOOKIE_HASH_LEN],
    uint8_t client_hash[SAFECOOKIE_HASH_LEN]);

/* Read the first line of a password file into a new string (without the
 * line end); NULL with errno on failure. Wipe it with free_secret_str(). */
char *torauth_read_password(const char *path);

#endif
