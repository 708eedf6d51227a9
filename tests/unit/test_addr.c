/*
 * test_addr.c: the address forms of the command line and config file
 * (src/addr.c): what addr_parse and listen_spec_parse accept, what they
 * turn it into, and what they refuse.
 */
#include "tg_check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "util.h"

/* Input, family (0: rejected), canonical text, port. */
static const struct {
	const char *in;
	int family;
	const char *text;
	unsigned port;
} addr_cases[] = {
	/* unix sockets: absolute paths only */
	{ "unix:/run/tor/control", AF_UNIX, "unix:/run/tor/control", 0 },
	{ "unix:/", AF_UNIX, "unix:/", 0 },
	{ "unix:/a b,c:d", AF_UNIX, "unix:/a b,c:d", 0 },
	{ "unix:", 0, NULL, 0 },
	{ "unix:relative", 0, NULL, 0 },
	{ "unix:./x", 0, NULL, 0 },
	{ "UNIX:/run/x", 0, NULL, 0 },
	{ "unix /run/x", 0, NULL, 0 },
	/* IPv4 and localhost */
	{ "127.0.0.1:9051", AF_INET, "127.0.0.1:9051", 9051 },
	{ "0.0.0.0:1", AF_INET, "0.0.0.0:1", 1 },
	{ "10.1.2.3:65535", AF_INET, "10.1.2.3:65535", 65535 },
	{ "localhost:951", AF_INET, "127.0.0.1:951", 951 },
	{ "127.0.0.1:09051", AF_INET, "127.0.0.1:9051", 9051 },
	{ "LOCALHOST:951", 0, NULL, 0 },
	{ "localhost.:951", 0, NULL, 0 },
	{ "example.org:9051", 0, NULL, 0 },     /* no DNS */
	{ "127.1:9051", 0, NULL, 0 },           /* inet_aton forms */
	{ "0x7f.0.0.1:9051", 0, NULL, 0 },
	{ "127.0.0.01:9051", 0, NULL, 0 },
	{ "256.0.0.1:9051", 0, NULL, 0 },
	{ "1.2.3.4.5:9051", 0, NULL, 0 },
	{ ":9051", 0, NULL, 0 },
	{ "127.0.0.1", 0, NULL, 0 },
	{ "9051", 0, NULL, 0 },
	{ "", 0, NULL, 0 },
	/* ports */
	{ "127.0.0.1:", 0, NULL, 0 },
	{ "127.0.0.1:0", 0, NULL, 0 },
	{ "127.0.0.1:65536", 0, NULL, 0 },
	{ "127.0.0.1:-1", 0, NULL, 0 },
	{ "127.0.0.1:99999999999999999999", 0, NULL, 0 },
	{ "127.0.0.1:80x", 0, NULL, 0 },
	{ "127.0.0.1:0x50", 0, NULL, 0 },
	{ "127.0.0.1:80 ", 0, NULL, 0 },
	{ "127.0.0.1:1:2", 0, NULL, 0 },
	{ "127.0.0.1: 80", 0, NULL, 0 },        /* digits only */
	{ "127.0.0.1:\t80", 0, NULL, 0 },
	{ "127.0.0.1:+80", 0, NULL, 0 },
	{ "127.0.0.1:-0", 0, NULL, 0 },
	/* IPv6, only in brackets */
	{ "[::1]:9051", AF_INET6, "[::1]:9051", 9051 },
	{ "[::]:1", AF_INET6, "[::]:1", 1 },
	{ "[fe80::1:2]:80", AF_INET6, "[fe80::1:2]:80", 80 },
	{ "[2001:DB8::A]:80", AF_INET6, "[2001:db8::a]:80", 80 },
	{ "[::ffff:127.0.0.1]:80", AF_INET6, "127.0.0.1:80", 80 },
	{ "::1:9051", 0, NULL, 0 },
	{ "[::1]", 0, NULL, 0 },
	{ "[::1]:", 0, NULL, 0 },
	{ "[::1]9051", 0, NULL, 0 },
	{ "[::1:9051", 0, NULL, 0 },
	{ "[]:9051", 0, NULL, 0 },
	{ "[127.0.0.1]:9051", 0, NULL, 0 },
	{ "[localhost]:9051", 0, NULL, 0 },
	{ "[::1%lo]:9051", 0, NULL, 0 },
	{ "[:::1]:9051", 0, NULL, 0 },
	{ "[::1]:0", 0, NULL, 0 },
	{ "[::1]:65536", 0, NULL, 0 },
	{ "[[::1]]:9051", 0, NULL, 0 },
	{ "[::1]: 80", 0, NULL, 0 },
	{ "[::1]:+80", 0, NULL, 0 },
};

START_TEST(test_addr_rows)
{
	tg_addr_t a;
	char err[256] = "";
	char host[INET6_ADDRSTRLEN];
	unsigned port = 12345;
	int rc = addr_parse(addr_cases[_i].in, &a, err, sizeof(err));

	if (addr_cases[_i].family == 0) {
		ck_assert_msg(rc == -1, "'%s' accepted as %s",
		    addr_cases[_i].in, a.text);
		/* The message names the input. */
		ck_assert_msg(strstr(err, addr_cases[_i].in) != NULL,
		    "'%s': message '%s'", addr_cases[_i].in, err);
		return;
	}
	ck_assert_msg(rc == 0, "'%s' rejected: %s", addr_cases[_i].in, err);
	ck_assert_int_eq(a.family, addr_cases[_i].family);
	ck_assert_int_eq(a.ss.ss_family, addr_cases[_i].family);
	ck_assert_str_eq(a.text, addr_cases[_i].text);
	addr_host_port((struct sockaddr *)&a.ss, a.len, host, sizeof(host),
	    &port);
	ck_assert_uint_eq(port, addr_cases[_i].port);
	switch (a.family) {
	case AF_UNIX:
		ck_assert_uint_eq(a.len, sizeof(struct sockaddr_un));
		ck_assert_str_eq(((struct sockaddr_un *)&a.ss)->sun_path,
		    addr_cases[_i].in + strlen("unix:"));
		ck_assert_str_eq(host, "unix");
		break;
	case AF_INET:
		ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in));
		break;
	case AF_INET6:
		ck_assert_uint_eq(a.len, sizeof(struct sockaddr_in6));
		break;
	}
}
END_TEST

/* The longest unix path that fits sun_path, and one byte more. */
START_TEST(test_unix_path_length)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	char s[256], err[512];
	tg_addr_t a;

	memcpy(s, "unix:/", 6);
	memset(s + 6, 'p', max - 1);
	s[5 + max] = '\0';
	ck_assert_uint_eq(strlen(s + 5), max);
	ck_assert_int_eq(addr_parse(s, &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.text, s);
	ck_assert_str_eq(((struct sockaddr_un *)&a.ss)->sun_path, s + 5);

	s[5 + max] = 'p';
	s[6 + max] = '\0';
	ck_assert_int_eq(addr_parse(s, &a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

/* A host part too long for any address, and a tiny error buffer. */
START_TEST(test_long_host)
{
	char s[600], err[8];
	tg_addr_t a;

	memset(s, '1', 500);
	strcpy(s + 500, ":80");
	ck_assert_int_eq(addr_parse(s, &a, err, sizeof(err)), -1);
	ck_assert_uint_lt(strlen(err), sizeof(err));
	s[0] = '[';
	strcpy(s + 500, "]:80");
	ck_assert_int_eq(addr_parse(s, &a, err, sizeof(err)), -1);
	ck_assert_uint_lt(strlen(err), sizeof(err));
}
END_TEST

/* Listener specs: input, accepted, canonical address, mode, profile. */
static const struct {
	const char *in;
	bool ok;
	const char *text;
	unsigned mode;
	const char *profile;
} listen_cases[] = {
	{ "unix:/run/x", true, "unix:/run/x", 0660, NULL },
	{ "unix:/run/x,mode=0600", true, "unix:/run/x", 0600, NULL },
	{ "unix:/run/x,mode=600", true, "unix:/run/x", 0600, NULL },
	{ "unix:/run/x,mode=0", true, "unix:/run/x", 0, NULL },
	{ "unix:/run/x,mode=777", true, "unix:/run/x", 0777, NULL },
	{ "unix:/run/x,profile=nyx", true, "unix:/run/x", 0660, "nyx" },
	{ "unix:/run/x,mode=0640,profile=a b", true, "unix:/run/x", 0640,
	    "a b" },
	{ "unix:/run/x,profile=a,mode=0640", true, "unix:/run/x", 0640, "a" },
	{ "unix:/run/x,profile=a,profile=b", true, "unix:/run/x", 0660, "b" },
	{ "unix:/run/x,profile=a=b", true, "unix:/run/x", 0660, "a=b" },
	{ "unix:/run/x,", true, "unix:/run/x", 0660, NULL },
	{ "unix:/run/x,,profile=a", true, "unix:/run/x", 0660, "a" },
	{ "127.0.0.1:951", true, "127.0.0.1:951", 0660, NULL },
	{ "127.0.0.1:951,profile=stem", true, "127.0.0.1:951", 0660, "stem" },
	{ "[::1]:951,profile=stem", true, "[::1]:951", 0660, "stem" },
	{ "unix:/run/x,mode=1777", false, NULL, 0, NULL },   /* over 0777 */
	{ "unix:/run/x,mode=0800", false, NULL, 0, NULL },   /* not octal */
	{ "unix:/run/x,mode=-1", false, NULL, 0, NULL },
	{ "unix:/run/x,mode=-0", false, NULL, 0, NULL },     /* digits only */
	{ "unix:/run/x,mode=+600", false, NULL, 0, NULL },
	{ "unix:/run/x,mode= 600", false, NULL, 0, NULL },
	{ "unix:/run/x,mode=0x1", false, NULL, 0, NULL },
	{ "unix:/run/x,mode=00000000000000000000000000000000000600", true,
	    "unix:/run/x", 0600, NULL },
	{ "unix:/run/x,mode=7777777777777777777777777", false, NULL, 0, NULL },
	{ "unix:/run/x,mode=", false, NULL, 0, NULL },
	{ "unix:/run/x,mode=0660x", false, NULL, 0, NULL },
	{ "unix:/run/x,mode", false, NULL, 0, NULL },
	{ "unix:/run/x,MODE=0600", false, NULL, 0, NULL },
	{ "unix:/run/x,profile=", false, NULL, 0, NULL },
	{ "unix:/run/x,profile", false, NULL, 0, NULL },
	{ "unix:/run/x,user=tor", false, NULL, 0, NULL },
	{ "unix:/run/x, profile=a", false, NULL, 0, NULL },
	{ "127.0.0.1:951,mode=0600", false, NULL, 0, NULL }, /* unix only */
	{ "[::1]:951,mode=0600", false, NULL, 0, NULL },
	{ "127.0.0.1:951,,", true, "127.0.0.1:951", 0660, NULL },
	{ "unix:relative,profile=a", false, NULL, 0, NULL },
	{ "", false, NULL, 0, NULL },
	{ ",", false, NULL, 0, NULL },
	{ ",profile=a", false, NULL, 0, NULL },   /* the address is "profile=a" */
};

START_TEST(test_listen_rows)
{
	listen_spec_t l;
	char err[512] = "";
	int rc = listen_spec_parse(listen_cases[_i].in, &l, err, sizeof(err));

	if (!listen_cases[_i].ok) {
		ck_assert_msg(rc == -1, "'%s' accepted", listen_cases[_i].in);
		ck_assert_msg(err[0] != '\0', "'%s': no message",
		    listen_cases[_i].in);
		/* Nothing left to free after a failure. */
		ck_assert_ptr_null(l.profile);
		return;
	}
	ck_assert_msg(rc == 0, "'%s' rejected: %s", listen_cases[_i].in, err);
	ck_assert_str_eq(l.addr.text, listen_cases[_i].text);
	ck_assert_uint_eq(l.mode, listen_cases[_i].mode);
	if (listen_cases[_i].profile == NULL)
		ck_assert_ptr_null(l.profile);
	else
		ck_assert_str_eq(l.profile, listen_cases[_i].profile);
	listen_spec_clear(&l);
	ck_assert_ptr_null(l.profile);
	listen_spec_clear(&l);          /* twice is harmless */
}
END_TEST

/* Which peers count as local. */
static const struct {
	const char *addr;
	bool local;
} local_cases[] = {
	{ "unix:/run/x", true },
	{ "127.0.0.1:1", true },
	{ "127.255.255.254:1", true },
	{ "128.0.0.1:1", false },
	{ "126.255.255.255:1", false },
	{ "10.0.0.1:1", false },
	{ "0.0.0.0:1", false },
	{ "[::1]:1", true },
	{ "[::]:1", false },
	{ "[::2]:1", false },
	{ "[::ffff:127.0.0.1]:1", true },
	{ "[::ffff:127.9.9.9]:1", true },
	{ "[::ffff:10.0.0.1]:1", false },
	{ "[::127.0.0.1]:1", false },         /* IPv4-compatible, not mapped */
	{ "[fe80::1]:1", false },
};

START_TEST(test_local_rows)
{
	tg_addr_t a;
	char err[256];

	ck_assert_int_eq(addr_parse(local_cases[_i].addr, &a, err,
	    sizeof(err)), 0);
	ck_assert_msg(addr_is_local((struct sockaddr *)&a.ss) ==
	    local_cases[_i].local, "%s", local_cases[_i].addr);
}
END_TEST

/* Formatting what the kernel hands over: unnamed unix peers, mapped
 * addresses shown as IPv4, and a buffer too small. */
START_TEST(test_format)
{
	struct sockaddr_un sun;
	struct sockaddr_in6 sin6;
	char buf[64], host[INET6_ADDRSTRLEN];
	unsigned port;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_format((struct sockaddr *)&sun, sizeof(sa_family_t), buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "unix:");
	addr_format((struct sockaddr *)&sun, sizeof(sun), buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:");
	/* An abstract socket (leading NUL) is shown as unnamed. */
	memcpy(sun.sun_path, "\0abstract", 9);
	addr_format((struct sockaddr *)&sun, sizeof(sun), buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:");
	/* A path the kernel did not NUL-terminate: len bounds the read. */
	memset(sun.sun_path, 'z', sizeof(sun.sun_path));
	addr_format((struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 3), buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "unix:zzz");

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.7",
	    &sin6.sin6_addr), 1);
	addr_host_port((struct sockaddr *)&sin6, sizeof(sin6), host,
	    sizeof(host), &port);
	ck_assert_str_eq(host, "192.0.2.7");
	ck_assert_uint_eq(port, 443);
	addr_format((struct sockaddr *)&sin6, sizeof(sin6), buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.0.2.7:443");
	addr_format((struct sockaddr *)&sin6, sizeof(sin6), buf, 5);
	ck_assert_str_eq(buf, "192.");
}
END_TEST

/* addr_file_id: the file a path names now, whatever the spelling. */
START_TEST(test_file_id)
{
	char dir[] = "/tmp/tg-fileid-XXXXXX", f[128], lnk[128], dotted[160],
	    hard[128];
	addr_file_id_t a, b;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(lnk, sizeof(lnk), "%s/l", dir);
	snprintf(dotted, sizeof(dotted), "%s//./x/../f", dir);
	snprintf(hard, sizeof(hard), "%s/h", dir);
	fp = fopen(f, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(symlink(f, lnk), 0);
	ck_assert_int_eq(link(f, hard), 0);
	ck_assert_int_eq(addr_file_id(f, &a), 0);
	ck_assert_str_eq(a.path, f);
	ck_assert_int_eq(addr_file_id(lnk, &b), 0);
	ck_assert_str_eq(b.path, f);
	ck_assert(a.dev == b.dev && a.ino == b.ino);
	ck_assert_int_eq(addr_file_id(hard, &b), 0);
	ck_assert_str_eq(b.path, hard);             /* another name... */
	ck_assert(a.dev == b.dev && a.ino == b.ino); /* ...same file */
	/* "x" does not exist: realpath refuses "x/..", as tor's connect
	 * would not get there either. */
	ck_assert_int_lt(addr_file_id(dotted, &b), 0);
	ck_assert_int_lt(addr_file_id("tmp/x", &b), 0);       /* relative */
	ck_assert_int_lt(addr_file_id("/nonexistent/x", &b), 0);
	unlink(hard);
	unlink(lnk);
	unlink(f);
	rmdir(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_add_loop_test(tc, test_addr_rows, 0, (int)ARRAY_LEN(addr_cases));
	tcase_add_test(tc, test_unix_path_length);
	tcase_add_test(tc, test_long_host);
	tcase_add_loop_test(tc, test_listen_rows, 0,
	    (int)ARRAY_LEN(listen_cases));
	tcase_add_loop_test(tc, test_local_rows, 0,
	    (int)ARRAY_LEN(local_cases));
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_file_id);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
