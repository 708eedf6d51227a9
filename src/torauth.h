/*
 * torauth.h: tor's authentication material: the cookie file, SAFECOOKIE
 * hashes (control-spec "AUTHCHALLENGE") and password files (the
 * QuotedString they are sent in is kvline.h's). HMAC-SHA256 comes from
 * nettle.
 *
 * It also holds torgate's own client cookie (--cookie-file): a fresh
 * random cookie written at start, which clients then prove they can read
 * with AUTHENTICATE (COOKIE) or AUTHCHALLENGE (SAFECOOKIE), checked here
 * exactly as tor checks its own (control_auth.c): the argument parsed as
 * tor's kvline parses it (KV_OMIT_KEYS | KV_QUOTED_QSTRING), the same
 * answers, the comparison in constant time.
 *
 * File reading lives here and nowhere else in the request path, so that a
 * future seccomp policy has one place to allow it.
 */
#ifndef TORGATE_TORAUTH_H
#define TORGATE_TORAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/*
 * torgate's own client cookie. path is what PROTOCOLINFO names in
 * COOKIEFILE (absolute, printable ASCII without '"' or '\': config.c
 * checks). Wipe with torauth_client_free().
 */
typedef struct torauth_client {
	char *path;
	uint8_t cookie[TOR_COOKIE_LEN];
} torauth_client_t;

/*
 * Write a fresh random cookie to path, atomically: a new file beside it
 * (O_EXCL, mode 0600), its 32 bytes, then fchown to uid/gid (-1: leave
 * that one), fchmod to mode, and rename over path. Nothing that
 * is at path and is not a regular file (a symlink, a socket) is
 * replaced. The cookie is left in cookie. 0, or -1 with a message in err
 * (and nothing left behind).
 */
int torauth_write_cookie(const char *path, mode_t mode, uid_t uid,
    gid_t gid, uint8_t cookie[TOR_COOKIE_LEN], char *err, size_t errlen);

/* Wipe c's cookie and free it. Accepts NULL. */
void torauth_client_free(torauth_client_t *c);

/*
 * One argument of AUTHENTICATE or AUTHCHALLENGE's nonce, read as tor
 * reads it (kvline_parse with KV_OMIT_KEYS | KV_QUOTED_QSTRING): items
 * split on " \t\r\v\n"; "V" is a QuotedString where a backslash takes
 * the next character as it is (decode_qstring: "\x41" is "x41"); K=V
 * is a keyword.
 */
typedef enum {
	TORAUTH_ARG_NONE,       /* nothing but blanks */
	TORAUTH_ARG_ONE,        /* one value */
	TORAUTH_ARG_BAD,        /* tor cannot parse it (an open quote, an
	                         * empty key, a NUL in a quoted value) */
	TORAUTH_ARG_MANY,       /* more than one item */
	TORAUTH_ARG_KEYWORD,    /* KEY=VALUE */
} torauth_arg_t;

/*
 * Parse s[0..len). On TORAUTH_ARG_ONE, *value is a new NUL-terminated
 * copy of the value (wipe and free it) of *vlen bytes, and *quoted tells
 * whether s has a '"' anywhere: tor then takes the value as the secret
 * itself (decoded if it was a QuotedString), else as hex.
 */
torauth_arg_t torauth_parse_arg(const char *s, size_t len, char **value,
    size_t *vlen, bool *quoted);

/* What AUTHENTICATE gets, in tor's words (torauth_check_reply). */
typedef enum {
	TORAUTH_OK,
	TORAUTH_E_PARSE,        /* 512, the connection stays */
	TORAUTH_E_MANY,         /* 512, closes */
	TORAUTH_E_KEYWORD,      /* 512, closes */
	TORAUTH_E_HEX,          /* 551, closes */
	TORAUTH_E_LENGTH,       /* 515, closes */
	TORAUTH_E_MISMATCH,     /* 515, closes */
} torauth_check_t;

/*
 * Check AUTHENTICATE's arguments args[0..len) against cookie, or, if
 * client_hash is not NULL (the connection had AUTHCHALLENGE), against
 * that SAFECOOKIE client hash only, as tor does. The secret is compared
 * in constant time and wiped.
 */
torauth_check_t torauth_check(const char *args, size_t len,
    const uint8_t cookie[TOR_COOKIE_LEN],
    const uint8_t client_hash[SAFECOOKIE_HASH_LEN]);

/* tor's reply line for r (without CRLF); NULL for TORAUTH_OK. safecookie:
 * the check was against a client hash. */
const char *torauth_check_reply(torauth_check_t r, bool safecookie);

#endif
