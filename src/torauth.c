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

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
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

char *
torauth_quote(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(2 * n + 3), *p = out;

	*p++ = '"';
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

long
torauth_unquote(const char *s, size_t len, char **out, size_t *outlen)
{
	char *buf, *p;
	size_t i;

	if (len == 0 || s[0] != '"')
		return -1;
	buf = p = xmalloc(len);
	for (i = 1; i < len; i++) {
		char c = s[i];
		if (c == '"') {
			*p = '\0';
			*out = buf;
			*outlen = (size_t)(p - buf);
			return (long)(i + 1);
		}
		if (c == '\n' || c == '\0')
			break;
		if (c != '\\') {
			*p++ = c;
			continue;
		}
		if (++i >= len)
			break;
		c = s[i];
		switch (c) {
		case 'n': *p++ = '\n'; break;
		case 'r': *p++ = '\r'; break;
		case 't': *p++ = '\t'; break;
		case '"': case '\\': case '\'':
			*p++ = c;
			break;
		case 'x': case 'X': {
			int hi, lo;
			if (i + 2 >= len || (hi = hex_digit(s[i + 1])) < 0 ||
			    (lo = hex_digit(s[i + 2])) < 0)
				goto fail;
			*p++ = (char)(hi << 4 | lo);
			i += 2;
			break;
		}
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7': {
			int v = 0, k;
			for (k = 0; k < 3 && i < len && s[i] >= '0' &&
			    s[i] <= '7'; k++, i++)
				v = v * 8 + (s[i] - '0');
			i--;
			if (v > 255)
				goto fail;
			*p++ = (char)v;
			break;
		}
		default:
			goto fail;      /* tor rejects other escapes */
		}
	}
fail:
	free(buf);
	return -1;
}
