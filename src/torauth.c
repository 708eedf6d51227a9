/*
 * torauth.c: cookie files, SAFECOOKIE and passwords. See torauth.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torauth.h"
#include "util.h"

static const char server_const[] =
    "Tor safe cookie authentication server-to-controller hash";
static const char client_const[] =
    "Tor safe cookie authentication controller-to-server hash";

int
torauth_read_cookie(const char *path, uint8_t cookie[TOR_COOKIE_LEN])
{
	struct stat st;
	ssize_t n;
	int fd, saved;

	/* O_NONBLOCK: a FIFO put where the cookie should be must not hang the
	 * daemon in open(); fstat then refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size != TOR_COOKIE_LEN) {
		errno = EINVAL;
		goto fail;
	}
	n = read(fd, cookie, TOR_COOKIE_LEN);
	if (n != TOR_COOKIE_LEN) {
		if (n >= 0)
			errno = EINVAL;
		goto fail;
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	memwipe(cookie, TOR_COOKIE_LEN);
	close(fd);
	errno = saved;
	return -1;
}

static void
hmac(const char *key, const uint8_t cookie[TOR_COOKIE_LEN],
    const uint8_t *cn, size_t cnlen, const uint8_t sn[SAFECOOKIE_NONCE_LEN],
    uint8_t out[SAFECOOKIE_HASH_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, strlen(key), (const uint8_t *)key);
	hmac_sha256_update(&ctx, TOR_COOKIE_LEN, cookie);
	hmac_sha256_update(&ctx, cnlen, cn);
	hmac_sha256_update(&ctx, SAFECOOKIE_NONCE_LEN, sn);
	hmac_sha256_digest(&ctx, SAFECOOKIE_HASH_LEN, out);
	memwipe(&ctx, sizeof(ctx));
}

void
torauth_safecookie(const uint8_t cookie[TOR_COOKIE_LEN],
    const uint8_t *client_nonce, size_t client_nonce_len,
    const uint8_t server_nonce[SAFECOOKIE_NONCE_LEN],
    uint8_t server_hash[SAFECOOKIE_HASH_LEN],
    uint8_t client_hash[SAFECOOKIE_HASH_LEN])
{
	if (server_hash != NULL)
		hmac(server_const, cookie, client_nonce, client_nonce_len,
		    server_nonce, server_hash);
	if (client_hash != NULL)
		hmac(client_const, cookie, client_nonce, client_nonce_len,
		    server_nonce, client_hash);
}

char *
torauth_read_password(const char *path)
{
	char buf[1024];
	ssize_t n;
	size_t len;
	int fd;
	char *pw;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	pw = xmemdup_nul(buf, len);
	memwipe(buf, sizeof(buf));
	return pw;
}
