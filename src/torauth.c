/*
 * torauth.c: cookie files, SAFECOOKIE and passwords. See torauth.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* ---- torgate's own client cookie ------------------------------------ */

int
torauth_write_cookie(const char *path, mode_t mode, uid_t uid, gid_t gid,
    uint8_t cookie[TOR_COOKIE_LEN], char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL, tmp[NAME_MAX + 1];
	const char *base;
	uint8_t rnd[8];
	char rhex[2 * sizeof(rnd) + 1];
	struct stat st;
	int dfd = -1, fd = -1, rc = -1;
	bool made = false;

	if (slash == NULL || slash[1] == '\0') {
		snprintf(err, errlen, "%s: not a path to a file", path);
		return -1;
	}
	base = slash + 1;
	dir = slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path));
	if (snprintf(tmp, sizeof(tmp), ".%s.", base) >= (int)sizeof(tmp) -
	    (int)sizeof(rhex)) {
		snprintf(err, errlen, "%s: file name too long", path);
		goto done;
	}
	if (random_bytes(cookie, TOR_COOKIE_LEN) < 0 ||
	    random_bytes(rnd, sizeof(rnd)) < 0) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		goto done;
	}
	hex_encode(rnd, sizeof(rnd), rhex);
	strcat(tmp, rhex);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto done;
	}
	/* Replace a cookie, never what something else put there. */
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a regular file",
		    path);
		goto done;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, tmp, strerror(errno));
		goto done;
	}
	made = true;
	if (write(fd, cookie, TOR_COOKIE_LEN) != TOR_COOKIE_LEN) {
		snprintf(err, errlen, "%s/%s: write: %s", dir, tmp,
		    strerror(errno));
		goto done;
	}
	/* fchown only if it changes something: a unit that denies the
	 * call (systemd's @privileged) can still make a cookie of its own
	 * user and group. */
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, tmp, strerror(errno));
		goto done;
	}
	if (uid == st.st_uid)
		uid = (uid_t)-1;
	if (gid == st.st_gid)
		gid = (gid_t)-1;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) < 0) {
		snprintf(err, errlen, "%s: chown to %ld:%ld: %s", path,
		    uid == (uid_t)-1 ? -1L : (long)uid,
		    gid == (gid_t)-1 ? -1L : (long)gid, strerror(errno));
		goto done;
	}
	/* No fsync: a cookie needs no durability (the next start makes a
	 * new one), and rename makes it appear whole. */
	if (fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, base) < 0) {
		snprintf(err, errlen, "%s: rename: %s", path, strerror(errno));
		goto done;
	}
	made = false;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0)
		memwipe(cookie, TOR_COOKIE_LEN);
	free(dir);
	return rc;
}

void
torauth_client_free(torauth_client_t *c)
{
	if (c == NULL)
		return;
	memwipe(c->cookie, sizeof(c->cookie));
	free(c->path);
	free(c);
}

/* ---- AUTHENTICATE and AUTHCHALLENGE's argument, as tor reads them ----- */

/* kvline_parse's separators (not tor_isspace: no \f). */
static bool
is_kv_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\n';
}

/*
 * tor's decode_qstring at s[0..end) (s[0] == '"'): a backslash takes the
 * next character as it is. Return the index after the closing quote and
 * the decoded bytes in a new buffer, or 0 if there is no closing quote.
 */
static size_t
decode_qstring(const char *s, size_t end, char **out, size_t *outlen)
{
	size_t i, n = 0;
	char *o;

	for (i = 1; i < end && s[i] != '"'; i++)
		if (s[i] == '\\' && ++i == end)
			return 0;
	if (i >= end)
		return 0;
	o = xmalloc(i);
	for (size_t j = 1; j < i; j++) {
		if (s[j] == '\\')
			j++;
		o[n++] = s[j];
	}
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return i + 1;
}

torauth_arg_t
torauth_parse_arg(const char *s, size_t len, char **value, size_t *vlen,
    bool *quoted)
{
	size_t i = 0, items = 0;
	bool keyword = false;
	char *v = NULL;
	size_t n = 0;

	*value = NULL;
	*vlen = 0;
	/* The command line, as a C string to tor, ends at a NUL: proto.c
	 * lets none through, and one here cannot be read the same way. */
	if (memchr(s, '\0', len) != NULL)
		return TORAUTH_ARG_BAD;
	*quoted = memchr(s, '"', len) != NULL;
	for (;;) {
		char *item = NULL;
		size_t ilen = 0;

		while (i < len && is_kv_space(s[i]))
			i++;
		if (i == len)
			break;
		if (s[i] != '"') {
			size_t k = i;
			while (k < len && !is_kv_space(s[k]) && s[k] != '=')
				k++;
			if (k < len && s[k] == '=') {
				if (k == i)
					goto bad;       /* an empty key */
				keyword = true;
				i = k + 1;
			}
		}
		if (i < len && s[i] == '"') {
			size_t used = decode_qstring(s + i, len - i, &item,
			    &ilen);
			if (used == 0)
				goto bad;
			if (memchr(item, '\0', ilen) != NULL) {
				free(item);
				goto bad;
			}
			i += used;
		} else {
			size_t k = i;
			while (k < len && !is_kv_space(s[k]))
				k++;
			item = xmemdup_nul(s + i, k - i);
			ilen = k - i;
			i = k;
		}
		if (items++ == 0) {
			v = item;
			n = ilen;
		} else {
			memwipe(item, ilen);
			free(item);
		}
	}
	if (items == 0)
		return TORAUTH_ARG_NONE;
	if (items > 1 || keyword) {
		memwipe(v, n);
		free(v);
		return items > 1 ? TORAUTH_ARG_MANY : TORAUTH_ARG_KEYWORD;
	}
	*value = v;
	*vlen = n;
	return TORAUTH_ARG_ONE;
bad:
	if (v != NULL) {
		memwipe(v, n);
		free(v);
	}
	return TORAUTH_ARG_BAD;
}

torauth_check_t
torauth_check(const char *args, size_t len,
    const uint8_t cookie[TOR_COOKIE_LEN],
    const uint8_t client_hash[SAFECOOKIE_HASH_LEN])
{
	const size_t want = client_hash != NULL ? SAFECOOKIE_HASH_LEN :
	    TOR_COOKIE_LEN;
	uint8_t secret[TOR_COOKIE_LEN > SAFECOOKIE_HASH_LEN ?
	    TOR_COOKIE_LEN : SAFECOOKIE_HASH_LEN];
	char *v = NULL;
	size_t vlen = 0, slen;
	bool quoted = false;
	torauth_check_t r;

	switch (torauth_parse_arg(args, len, &v, &vlen, &quoted)) {
	case TORAUTH_ARG_NONE:
		return TORAUTH_E_LENGTH;        /* tor: an empty password */
	case TORAUTH_ARG_BAD:
		return TORAUTH_E_PARSE;
	case TORAUTH_ARG_MANY:
		return TORAUTH_E_MANY;
	case TORAUTH_ARG_KEYWORD:
		return TORAUTH_E_KEYWORD;
	case TORAUTH_ARG_ONE:
		break;
	}
	if (quoted) {
		slen = vlen;
		if (slen == want)
			memcpy(secret, v, want);
	} else {
		/* tor: strlen/2 bytes, and base16_decode must take them all
		 * (an odd length is an error, not a short secret). */
		slen = vlen / 2;
		if (vlen % 2 != 0) {
			r = TORAUTH_E_HEX;
			goto done;
		}
		for (size_t i = 0; i < vlen; i++)
			if (hex_digit(v[i]) < 0) {
				r = TORAUTH_E_HEX;
				goto done;
			}
		if (slen == want && hex_decode(v, vlen, secret, want) < 0) {
			r = TORAUTH_E_HEX;
			goto done;
		}
	}
	if (slen != want)
		r = TORAUTH_E_LENGTH;
	else
		r = ct_memeq(secret, client_hash != NULL ? client_hash :
		    cookie, want) ? TORAUTH_OK : TORAUTH_E_MISMATCH;
done:
	memwipe(secret, sizeof(secret));
	memwipe(v, vlen);
	free(v);
	return r;
}

const char *
torauth_check_reply(torauth_check_t r, bool safecookie)
{
	switch (r) {
	case TORAUTH_OK:
		return NULL;
	case TORAUTH_E_PARSE:
		return "512 Bad arguments to AUTHENTICATE: Cannot parse "
		    "keyword argument(s)";
	case TORAUTH_E_MANY:
		return "512 Too many arguments to AUTHENTICATE.";
	case TORAUTH_E_KEYWORD:
		return "512 AUTHENTICATE does not accept keyword arguments.";
	case TORAUTH_E_HEX:
		return "551 Invalid hexadecimal encoding.  Maybe you tried a "
		    "plain text password?  If so, the standard requires that "
		    "you put it in double quotes.";
	case TORAUTH_E_LENGTH:
		return safecookie ? "515 Authentication failed: Wrong length "
		    "for safe cookie response." : "515 Authentication failed: "
		    "Wrong length on authentication cookie.";
	case TORAUTH_E_MISMATCH:
		return safecookie ? "515 Authentication failed: Safe cookie "
		    "response did not match expected value." :
		    "515 Authentication failed: Authentication cookie did not "
		    "match expected value.";
	}
	return "515 Authentication failed: Unknown error";
}
