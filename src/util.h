/*
 * util.h: allocation that never returns NULL, secret wiping, hex coding.
 *
 * x*alloc() abort the process on exhaustion: torgate cannot serve anyone
 * without memory, and every size a peer controls is bounded long before
 * it reaches the allocator.
 */
#ifndef TORGATE_UTIL_H
#define TORGATE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xmemdup_nul(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* On a TCP socket of family (AF_INET, AF_INET6), send small writes at
 * once (TCP_NODELAY): torgate relays request/reply traffic, where Nagle's
 * algorithm and the peer's delayed ACK stall a reply for up to 40 ms.
 * Other families: nothing. */
void socket_nodelay(int fd, int family);

/* free() that clears the pointer. */
#define FREE(p) do { free(p); (p) = NULL; } while (0)

/* Overwrite n bytes at p in a way the compiler may not drop. */
void memwipe(void *p, size_t n);
/* Wipe the NUL-terminated string s, then free it. Accepts NULL. */
void free_secret_str(char *s);

/* Write 2*n lowercase hex digits and a NUL to out (size >= 2n+1). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* The same in upper case, as tor writes SAFECOOKIE hashes. */
void hex_encode_upper(const uint8_t *in, size_t n, char *out);
/* Decode exactly 2*n hex digits from in[0..inlen); -1 unless inlen == 2n. */
int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n);

/* Value of one hex digit, or -1. */
int hex_digit(char c);

/* Constant-time comparison of n bytes; true when equal. */
bool ct_memeq(const void *a, const void *b, size_t n);

/* Fill buf with n random bytes from the kernel; 0 or -1. */
int random_bytes(void *buf, size_t n);

/* ASCII case-insensitive compare of a counted string with a C string. */
bool strn_case_eq(const char *a, size_t alen, const char *b);

/* Tor's TOR_ISSPACE: space, \t, \n, \v, \f, \r. */
static inline bool tor_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

#endif
