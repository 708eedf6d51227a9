/*
 * privdrop.c: see privdrop.h.
 *
 * The order follows OpenBSD's daemons (proc_run): supplementary groups,
 * then gid, then uid, each checked; then the capability sets; then
 * NO_NEW_PRIVS; then everything is read back from the kernel and
 * compared with what was asked for. The bounding set goes first, while
 * the process still holds CAP_SETPCAP (root does; a process started
 * unprivileged with ambient capabilities does not, and its bounding set
 * is the service manager's: CapabilityBoundingSet= in the unit).
 *
 * Capabilities are read and written with capget/capset directly (the
 * 64-bit version 3 interface), so no library is needed.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "log.h"
#include "privdrop.h"
#include "util.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define CAPBIT(c) ((uint64_t)1 << (c))

/* What the monitor keeps (privdrop.h says why each). */
#define MONITOR_CAPS (CAPBIT(CAP_SYS_PTRACE) | CAPBIT(CAP_DAC_READ_SEARCH))

/* AddressSanitizer (gcc or clang)? */
#if defined(__SANITIZE_ADDRESS__)
#define TG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TG_ASAN 1
#endif
#endif
#ifndef TG_ASAN
#define TG_ASAN 0
#endif

/* More supplementary groups than this is a misconfiguration. */
#define MAX_GROUPS 256

typedef struct caps {
	uint64_t eff, prm, inh;
} caps_t;

static void
caps_get(caps_t *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		fatal("capget");
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	c->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
}

static void
caps_set(const caps_t *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	d[0].effective = (uint32_t)c->eff;
	d[1].effective = (uint32_t)(c->eff >> 32);
	d[0].permitted = (uint32_t)c->prm;
	d[1].permitted = (uint32_t)(c->prm >> 32);
	d[0].inheritable = (uint32_t)c->inh;
	d[1].inheritable = (uint32_t)(c->inh >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		fatal("capset");
}

/* The highest capability this kernel knows (PR_CAPBSET_READ fails with
 * EINVAL past it). */
static int
last_cap(void)
{
	int c = 0;

	while (c < 63 && prctl(PR_CAPBSET_READ, (unsigned long)c + 1, 0, 0,
	    0) >= 0)
		c++;
	return c;
}

/* Drop every capability not in keep from the bounding set, if we hold
 * CAP_SETPCAP; returns whether it was done. */
static bool
bounding_drop(uint64_t keep, const caps_t *now)
{
	int last = last_cap();

	if (!(now->eff & CAPBIT(CAP_SETPCAP)))
		return false;
	for (int c = 0; c <= last; c++) {
		if (keep & CAPBIT(c))
			continue;
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0)
			fatal("dropping capability %d from the bounding set", c);
	}
	return true;
}

static void
ambient_clear(void)
{
	/* EINVAL: a kernel without ambient capabilities (before 4.3). */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		fatal("clearing the ambient capabilities");
}

static void
no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fatalx("PR_SET_NO_NEW_PRIVS did not hold");
}

/* Read back: exactly keep in effective and permitted, nothing inheritable
 * or ambient, and (if it was dropped) nothing else in the bounding set. */
static void
verify_caps(uint64_t keep, bool bounding_dropped, const char *who)
{
	int last = last_cap();
	caps_t c;

	caps_get(&c);
	if (c.eff != keep || c.prm != keep || c.inh != 0)
		fatalx("%s: capabilities not dropped (effective %#llx, "
		    "permitted %#llx, inheritable %#llx)", who,
		    (unsigned long long)c.eff, (unsigned long long)c.prm,
		    (unsigned long long)c.inh);
	for (int i = 0; i <= last; i++) {
		int amb = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET,
		    (unsigned long)i, 0, 0);
		if (amb > 0)
			fatalx("%s: ambient capability %d still set", who, i);
		if (bounding_dropped && !(keep & CAPBIT(i)) &&
		    prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) != 0)
			fatalx("%s: capability %d still in the bounding set",
			    who, i);
	}
}

int
privdrop_lookup(const char *name, privdrop_user_t *u, char *err,
    size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e;

	memset(u, 0, sizeof(*u));
	if (strlen(name) >= sizeof(u->name)) {
		snprintf(err, errlen, "user name '%s' is too long", name);
		return -1;
	}
	e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (res == NULL) {
		snprintf(err, errlen, "no user '%s'%s%s", name,
		    e ? ": " : "", e ? strerror(e) : "");
		return -1;
	}
	if (pw.pw_uid == 0) {
		snprintf(err, errlen, "user '%s' is root: torgate does not "
		    "serve clients as root", name);
		return -1;
	}
	snprintf(u->name, sizeof(u->name), "%s", pw.pw_name);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	return 0;
}

/* Does the sorted list a[0..n) contain g? */
static bool
has_gid(const gid_t *a, int n, gid_t g)
{
	for (int i = 0; i < n; i++)
		if (a[i] == g)
			return true;
	return false;
}

/* Become u: supplementary groups, gid, uid; then check that it holds. */
static void
become(const privdrop_user_t *u)
{
	gid_t want[MAX_GROUPS], got[MAX_GROUPS];
	int nwant = MAX_GROUPS, ngot;
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getgrouplist(u->name, u->gid, want, &nwant) < 0)
		fatalx("user %s is in more than %d groups", u->name,
		    MAX_GROUPS);
	if (setgroups((size_t)nwant, want) < 0)
		fatal("setgroups for %s", u->name);
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		fatal("setresgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		fatal("setresuid %u", (unsigned)u->uid);

	if (getresuid(&r, &e, &s) < 0 || r != u->uid || e != u->uid ||
	    s != u->uid)
		fatalx("uid not changed to %u", (unsigned)u->uid);
	if (getresgid(&rg, &eg, &sg) < 0 || rg != u->gid || eg != u->gid ||
	    sg != u->gid)
		fatalx("gid not changed to %u", (unsigned)u->gid);
	ngot = getgroups(MAX_GROUPS, got);
	if (ngot != nwant)
		fatalx("supplementary groups not set for %s", u->name);
	for (int i = 0; i < ngot; i++)
		if (!has_gid(want, nwant, got[i]))
			fatalx("supplementary group %u left", (unsigned)got[i]);
	/* The way back must be closed. */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
		fatalx("could become root again after dropping to %s",
		    u->name);
}

void
privdrop_worker(const privdrop_user_t *u)
{
	bool bounded;
	caps_t c;

	caps_get(&c);
	bounded = bounding_drop(0, &c);
	ambient_clear();
	if (u != NULL && (getuid() != u->uid || geteuid() != u->uid ||
	    getgid() != u->gid || getegid() != u->gid))
		become(u);
	memset(&c, 0, sizeof(c));
	caps_set(&c);
	no_new_privs();
	verify_caps(0, bounded, "worker");
#if TG_ASAN
	/* Sanitizer builds only: LeakSanitizer ptraces this very process
	 * at exit, which a changed uid makes non-dumpable. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	log_info("worker: uid %u, gid %u, no capabilities%s",
	    (unsigned)getuid(), (unsigned)getgid(),
	    bounded ? "" : " (bounding set left as the service manager set "
	    "it)");
}

void
privdrop_monitor(void)
{
	uint64_t keep;
	bool bounded;
	caps_t c;

	caps_get(&c);
	keep = c.prm & MONITOR_CAPS;
	/* Root's supplementary groups open nothing the scan needs. */
	if (geteuid() == 0 && (c.eff & CAPBIT(CAP_SETGID)) &&
	    setgroups(0, NULL) < 0)
		fatal("setgroups");
	bounded = bounding_drop(keep, &c);
	ambient_clear();
	c.eff = c.prm = keep;
	c.inh = 0;
	caps_set(&c);
	no_new_privs();
	verify_caps(keep, bounded, "monitor");
}

bool
privdrop_monitor_can_scan(void)
{
	caps_t c;

	caps_get(&c);
	return (c.eff & MONITOR_CAPS) == MONITOR_CAPS;
}
