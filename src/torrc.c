/*
 * torrc.c: see torrc.h. The grammar follows tor's
 * parse_config_line_from_str_verbose() and config_get_lines_aux() (with
 * "extended" lines, as LOADCONF reads them), read_escaped_data() for the
 * control protocol's CmdData, and config_expand_abbrev() /
 * config_mgr_find_var() for option names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvline.h"
#include "torrc.h"
#include "util.h"

char *
torrc_from_cmddata(const char *body, size_t len, size_t *outlen)
{
	char *out = xmalloc(len + 1), *o = out;
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *nl;
		size_t n;
		if (*p == '.')
			p++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			memcpy(o, p, (size_t)(end - p));
			o += end - p;
			break;
		}
		n = (size_t)(nl - p);
		if (n > 0 && nl[-1] == '\r')
			n--;
		memcpy(o, p, n);
		o += n;
		*o++ = '\n';
		p = nl + 1;
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

/* Skip to the end of a '#' comment (the '\n' itself stays). */
static const char *
skip_comment(const char *s)
{
	while (*s && *s != '\n')
		s++;
	return s;
}

/* Drop comments (with their newline) and backslash-newlines from a value
 * that had a continuation, in place. */
static void
decode_continued(char *v)
{
	char *out = v;
	const char *in = v;

	while (*in) {
		if (*in == '#') {
			in = skip_comment(in);
			if (*in == '\n')
				in++;
		} else if (in[0] == '\\' && in[1] == '\n') {
			in += 2;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

/*
 * Parse one line at s (NUL-terminated). On success return where the next
 * line starts and set *k and *v (both NULL at the end of the text); on
 * error return NULL with *why set.
 */
static const char *
parse_line(const char *s, char **k, char **v, const char **why)
{
	const char *key, *val, *cp;
	bool continued = false;

	*k = *v = NULL;
	for (;;) {
		while (tor_isspace(*s))
			s++;
		if (*s != '#')
			break;
		s = skip_comment(s);
	}
	if (*s == '\0')
		return s;

	key = s;
	while (*s && !tor_isspace(*s) && *s != '#' &&
	    !(s[0] == '\\' && s[1] == '\n'))
		s++;
	*k = xmemdup_nul(key, (size_t)(s - key));
	while (*s == ' ' || *s == '\t')
		s++;
	val = s;

	if (*s == '"') {
		size_t vlen;
		long used = kvline_unquote(s, strlen(s), v, &vlen);
		if (used < 0) {
			*why = "invalid escape sequence in quoted string";
			goto fail;
		}
		/* tor keeps the value as a C string: a \0 escape ends it. */
		s += used;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\r' && *(++s) == '\n')
			s++;
		if (*s && *s != '#' && *s != '\n') {
			*why = "excess data after quoted string";
			goto fail;
		}
	} else {
		while (*s && *s != '\n' && (*s != '#' || continued)) {
			if (s[0] == '\\' && s[1] == '\n') {
				continued = true;
				s += 2;
			} else if (*s == '#') {
				s = skip_comment(s);
				if (*s == '\n')
					s++;
			} else {
				s++;
			}
		}
		cp = s;
		if (*s == '\n')
			s++;
		while (cp > val && tor_isspace(cp[-1]))
			cp--;
		*v = xmemdup_nul(val, (size_t)(cp - val));
		if (continued)
			decode_continued(*v);
	}
	if (*s == '#')
		s = skip_comment(s);
	while (tor_isspace(*s))
		s++;
	return s;
fail:
	FREE(*k);
	FREE(*v);
	return NULL;
}

static unsigned
count_lines(const char *from, const char *to)
{
	unsigned n = 0;

	for (; from < to; from++)
		n += *from == '\n';
	return n;
}

int
torrc_parse(const char *text, size_t len, torrc_t *out, char *err,
    size_t errlen)
{
	char *copy;
	const char *s, *counted;
	unsigned lineno = 1;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL in configuration text");
		return -1;
	}
	copy = xmemdup_nul(text, len);
	s = counted = copy;
	do {
		const char *start, *why = "parse error", *next;
		char *k, *v;

		/* Where the key will be: after blanks and comments. */
		start = s;
		for (;;) {
			while (tor_isspace(*start))
				start++;
			if (*start != '#')
				break;
			start = skip_comment(start);
		}
		lineno += count_lines(counted, start);
		counted = start;
		next = parse_line(s, &k, &v, &why);
		if (next == NULL) {
			snprintf(err, errlen, "line %u: %s", lineno, why);
			goto done;
		}
		s = next;
		if (k == NULL)
			continue;
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		torrc_line_t *l = &out->v[out->n++];
		l->cmd = TORRC_SET;
		l->lineno = lineno;
		if (k[0] == '+' || k[0] == '/') {
			l->cmd = k[0] == '+' ? TORRC_APPEND : TORRC_CLEAR;
			memmove(k, k + 1, strlen(k));
			if (l->cmd == TORRC_CLEAR)
				v[0] = '\0';
		}
		l->key = k;
		l->value = v;
	} while (*s);
	rc = 0;
done:
	if (rc < 0)
		torrc_clear(out);
	free(copy);
	return rc;
}

void
torrc_clear(torrc_t *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].value);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* ---- option names ----------------------------------------------------- */

/*
 * tor's aliases (option_abbrevs_ in src/app/config/config.c), those that
 * apply to the configuration and the control port (command-line-only
 * entries, "l" and "HashedControlPassword", are left out). Applied in this
 * order, each to the result of the ones before, as tor does.
 */
static const struct {
	const char *from, *to;
} aliases[] = {
	{ "AuthDirBadDirCC", "AuthDirBadDirCCs" },
	{ "AuthDirBadExitCC", "AuthDirBadExitCCs" },
	{ "AuthDirInvalidCC", "AuthDirInvalidCCs" },
	{ "AuthDirMiddleOnlyCC", "AuthDirMiddleOnlyCCs" },
	{ "AuthDirRejectCC", "AuthDirRejectCCs" },
	{ "EntryNode", "EntryNodes" },
	{ "ExcludeNode", "ExcludeNodes" },
	{ "FirewallPort", "FirewallPorts" },
	{ "LongLivedPort", "LongLivedPorts" },
	{ "HiddenServiceNode", "HiddenServiceNodes" },
	{ "HiddenServiceExcludeNode", "HiddenServiceExcludeNodes" },
	{ "NumCPU", "NumCPUs" },
	{ "RendNode", "RendNodes" },
	{ "RecommendedPackage", "RecommendedPackages" },
	{ "RendExcludeNode", "RendExcludeNodes" },
	{ "StrictEntryNode", "StrictEntryNodes" },
	{ "StrictExitNode", "StrictExitNodes" },
	{ "StrictNode", "StrictNodes" },
	{ "AllowUnverifiedNodes", "AllowInvalidNodes" },
	{ "AutomapHostSuffixes", "AutomapHostsSuffixes" },
	{ "AutomapHostOnResolve", "AutomapHostsOnResolve" },
	{ "BandwidthRateBytes", "BandwidthRate" },
	{ "BandwidthBurstBytes", "BandwidthBurst" },
	{ "DirFetchPostPeriod", "StatusFetchPeriod" },
	{ "DirServer", "DirAuthority" },
	{ "MaxConn", "ConnLimit" },
	{ "MaxMemInCellQueues", "MaxMemInQueues" },
	{ "ORBindAddress", "ORListenAddress" },
	{ "DirBindAddress", "DirListenAddress" },
	{ "SocksBindAddress", "SocksListenAddress" },
	{ "UseHelperNodes", "UseEntryGuards" },
	{ "NumHelperNodes", "NumEntryGuards" },
	{ "UseEntryNodes", "UseEntryGuards" },
	{ "NumEntryNodes", "NumEntryGuards" },
	{ "ResolvConf", "ServerDNSResolvConfFile" },
	{ "SearchDomains", "ServerDNSSearchDomains" },
	{ "ServerDNSAllowBrokenResolvConf", "ServerDNSAllowBrokenConfig" },
	{ "PreferTunnelledDirConns", "PreferTunneledDirConns" },
	{ "BridgeAuthoritativeDirectory", "BridgeAuthoritativeDir" },
	{ "VirtualAddrNetwork", "VirtualAddrNetworkIPv4" },
	{ "SocksSocketsGroupWritable", "UnixSocksGroupWritable" },
	{ "_HSLayer2Nodes", "HSLayer2Nodes" },
	{ "_HSLayer3Nodes", "HSLayer3Nodes" },
	{ "ClientBootstrapConsensusAuthorityDownloadSchedule",
	  "ClientBootstrapConsensusAuthorityDownloadInitialDelay" },
	{ "ClientBootstrapConsensusAuthorityOnlyDownloadSchedule",
	  "ClientBootstrapConsensusAuthorityOnlyDownloadInitialDelay" },
	{ "ClientBootstrapConsensusFallbackDownloadSchedule",
	  "ClientBootstrapConsensusFallbackDownloadInitialDelay" },
	{ "TestingBridgeDownloadSchedule",
	  "TestingBridgeDownloadInitialDelay" },
	{ "TestingBridgeBootstrapDownloadSchedule",
	  "TestingBridgeBootstrapDownloadInitialDelay" },
	{ "TestingClientDownloadSchedule",
	  "TestingClientDownloadInitialDelay" },
	{ "TestingClientConsensusDownloadSchedule",
	  "TestingClientConsensusDownloadInitialDelay" },
	{ "TestingServerDownloadSchedule",
	  "TestingServerDownloadInitialDelay" },
	{ "TestingServerConsensusDownloadSchedule",
	  "TestingServerConsensusDownloadInitialDelay" },
};

/*
 * Options the guard looks at, in tor's spelling. No other option of tor
 * 0.4.9 is a prefix of one of these, so a key that is a proper prefix of
 * one is never an exact name (tor --list-torrc-options).
 */
static const struct {
	const char *name;
	torrc_opt_t kind;
} guarded[] = {
	/* forwards an onion service's streams: every target checked */
	{ "HiddenServicePort", TORRC_OPT_HS_PORT },
	/* creates an onion service and writes its keys where it says */
	{ "HiddenServiceDir", TORRC_OPT_GUARDED },
	/* control listeners and their authentication */
	{ "ControlPort", TORRC_OPT_GUARDED },
	{ "__ControlPort", TORRC_OPT_GUARDED },
	{ "ControlSocket", TORRC_OPT_GUARDED },
	{ "ControlSocketsGroupWritable", TORRC_OPT_GUARDED },
	{ "ControlPortWriteToFile", TORRC_OPT_GUARDED },
	{ "ControlPortFileGroupReadable", TORRC_OPT_GUARDED },
	{ "HashedControlPassword", TORRC_OPT_GUARDED },
	{ "__HashedControlSessionPassword", TORRC_OPT_GUARDED },
	{ "CookieAuthentication", TORRC_OPT_GUARDED },
	{ "CookieAuthFile", TORRC_OPT_GUARDED },
	{ "CookieAuthFileGroupReadable", TORRC_OPT_GUARDED },
	/* other listeners */
	{ "SocksPort", TORRC_OPT_GUARDED },
	{ "__SocksPort", TORRC_OPT_GUARDED },
	{ "TransPort", TORRC_OPT_GUARDED },
	{ "__TransPort", TORRC_OPT_GUARDED },
	{ "NATDPort", TORRC_OPT_GUARDED },
	{ "__NATDPort", TORRC_OPT_GUARDED },
	{ "DNSPort", TORRC_OPT_GUARDED },
	{ "__DNSPort", TORRC_OPT_GUARDED },
	{ "HTTPTunnelPort", TORRC_OPT_GUARDED },
	{ "__HTTPTunnelPort", TORRC_OPT_GUARDED },
	{ "ORPort", TORRC_OPT_GUARDED },
	{ "__ORPort", TORRC_OPT_GUARDED },
	{ "DirPort", TORRC_OPT_GUARDED },
	{ "__DirPort", TORRC_OPT_GUARDED },
	{ "ExtORPort", TORRC_OPT_GUARDED },
	{ "__ExtORPort", TORRC_OPT_GUARDED },
	{ "MetricsPort", TORRC_OPT_GUARDED },
	{ "__MetricsPort", TORRC_OPT_GUARDED },
	{ "ServerTransportListenAddr", TORRC_OPT_GUARDED },
	/* start programs */
	{ "ClientTransportPlugin", TORRC_OPT_GUARDED },
	{ "ServerTransportPlugin", TORRC_OPT_GUARDED },
};

static const char *
expand_alias(const char *key)
{
	for (size_t i = 0; i < ARRAY_LEN(aliases); i++)
		if (strcasecmp(key, aliases[i].from) == 0)
			key = aliases[i].to;
	return key;
}

torrc_opt_t
torrc_option(const char *key, const char **canon)
{
	const char *k;
	size_t klen;

	if (canon != NULL)
		*canon = key;
	if (key[0] == '\0' || key[0] == '%')
		return TORRC_OPT_BAD;
	k = expand_alias(key);
	if (canon != NULL)
		*canon = k;
	for (size_t i = 0; i < ARRAY_LEN(guarded); i++) {
		if (strcasecmp(k, guarded[i].name) == 0) {
			if (canon != NULL)
				*canon = guarded[i].name;
			return guarded[i].kind;
		}
	}
	klen = strlen(k);
	for (size_t i = 0; i < ARRAY_LEN(guarded); i++) {
		if (strncasecmp(k, guarded[i].name, klen) == 0) {
			if (canon != NULL)
				*canon = guarded[i].name;
			return TORRC_OPT_PREFIX;
		}
	}
	return TORRC_OPT_OTHER;
}

bool
torrc_same_option(const char *a, const char *b)
{
	return strcasecmp(expand_alias(a), expand_alias(b)) == 0;
}

const char *
torrc_guarded(size_t i, torrc_opt_t *kind)
{
	if (i >= ARRAY_LEN(guarded))
		return NULL;
	*kind = guarded[i].kind;
	return guarded[i].name;
}
