/*
 * test_aarole.c: entering an AppArmor role (src/aarole.c).
 *
 * The kernels tests run on need not have AppArmor, so a role is never
 * really entered here: the real libapparmor is called only where the
 * answer does not depend on the kernel (an invalid role fails before any
 * call) or where this kernel has no AppArmor (then nothing happens).
 * Every other branch runs against fake libapparmor calls (aarole_set_ops)
 * that play a kernel: enabled or not, the label it shows, what a stack
 * does to it. tests/apparmor/ checks that the profile itself compiles.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/apparmor.h>

#include "aarole.h"
#include "tg_check.h"

/* ---- names and labels, no kernel -------------------------------------- */

static const char *const invalid_roles[] = {
	"", "Worker", "WORKER", "worker ", " worker", "worker\n", "work",
	"workers", "monitor/", "torgate//worker", "//worker", "&worker",
	"worker//monitor", "parent", "torgate", "unconfined",
};

START_TEST(test_roles)
{
	char buf[64];

	ck_assert(aarole_is_valid("worker"));
	ck_assert(aarole_is_valid("monitor"));
	ck_assert(!aarole_is_valid(NULL));
	for (size_t i = 0; i < sizeof(invalid_roles) / sizeof(*invalid_roles);
	    i++) {
		ck_assert_msg(!aarole_is_valid(invalid_roles[i]), "%s",
		    invalid_roles[i]);
		ck_assert_int_eq(aarole_target(invalid_roles[i], buf,
		    sizeof(buf)), -1);
		ck_assert_int_eq(aarole_plan("torgate", invalid_roles[i]),
		    AAROLE_BAD_ROLE);
	}
	ck_assert_int_eq(aarole_target("worker", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "torgate//worker");
	ck_assert_int_eq(aarole_target("monitor", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "torgate//monitor");
	/* At the bound: the name and its NUL fit exactly, or fail. */
	ck_assert_int_eq(aarole_target("monitor", buf, 17), 0);
	ck_assert_str_eq(buf, "torgate//monitor");
	ck_assert_int_eq(aarole_target("monitor", buf, 16), -1);
	ck_assert_int_eq(aarole_target(NULL, buf, sizeof(buf)), -1);
}
END_TEST

#define PLAN(label, role, want) \
	ck_assert_msg(aarole_plan(label, role) == (want), "%s as %s", \
	    label != NULL ? (const char *)label : "(null)", role)

START_TEST(test_plan)
{
	PLAN("unconfined", "worker", AAROLE_UNCONFINED);
	PLAN("torgate", "worker", AAROLE_STACK);
	PLAN("torgate", "monitor", AAROLE_STACK);
	/* After the stack: the role is there. */
	PLAN("torgate//&torgate//worker", "worker", AAROLE_ALREADY);
	PLAN("torgate//&torgate//monitor", "monitor", AAROLE_ALREADY);
	PLAN("torgate//worker", "worker", AAROLE_ALREADY);
	/* The other role: never stacked on top (it would leave neither
	 * process what it needs, and means a caller's mistake). */
	PLAN("torgate//&torgate//worker", "monitor", AAROLE_FOREIGN);
	PLAN("torgate//&torgate//monitor", "worker", AAROLE_FOREIGN);
	PLAN("torgate//monitor", "worker", AAROLE_FOREIGN);
	/* A child of torgate's that is no role, or a hat. */
	PLAN("torgate//other", "worker", AAROLE_FOREIGN);
	PLAN("torgate//^hat", "worker", AAROLE_FOREIGN);
	PLAN("torgate//&torgate//workers", "worker", AAROLE_FOREIGN);
	PLAN("torgate//worker//x", "worker", AAROLE_FOREIGN);
	/* Other profiles, and names that only look like torgate's. */
	PLAN("docker-default", "worker", AAROLE_FOREIGN);
	PLAN("/usr/sbin/torgate", "worker", AAROLE_FOREIGN);
	PLAN("torgate2", "worker", AAROLE_FOREIGN);
	PLAN("xtorgate", "worker", AAROLE_FOREIGN);
	PLAN("Torgate", "worker", AAROLE_FOREIGN);
	PLAN("torgate/", "worker", AAROLE_FOREIGN);
	PLAN("torgate//", "worker", AAROLE_FOREIGN);
	PLAN("unconfined//&torgate2", "worker", AAROLE_FOREIGN);
	PLAN("", "worker", AAROLE_FOREIGN);
	PLAN(NULL, "worker", AAROLE_FOREIGN);
	/* Stacked with another profile (a container's): torgate's counts,
	 * the other stays. */
	PLAN("lxc-default//&torgate", "worker", AAROLE_STACK);
	PLAN("torgate//&lxc-default", "monitor", AAROLE_STACK);
	PLAN("lxc-default//&torgate//&torgate//worker", "worker",
	    AAROLE_ALREADY);
	/* Modes shown per profile when a stack's profiles differ. */
	PLAN("torgate (enforce)//&torgate//worker (complain)", "worker",
	    AAROLE_ALREADY);
	PLAN("torgate (complain)", "worker", AAROLE_STACK);
	PLAN("torgate2 (enforce)", "worker", AAROLE_FOREIGN);
	PLAN("torgate(enforce)", "worker", AAROLE_FOREIGN);
	PLAN("torgate//worker (x)//&torgate", "monitor", AAROLE_FOREIGN);
}
END_TEST

/* ---- aarole_enter on this kernel --------------------------------------- */

START_TEST(test_enter_invalid_role_fails_anywhere)
{
	aarole_set_ops(NULL);
	ck_assert_int_eq(aarole_enter(NULL), -1);
	for (size_t i = 0; i < sizeof(invalid_roles) / sizeof(*invalid_roles);
	    i++)
		ck_assert_msg(aarole_enter(invalid_roles[i]) == -1, "%s",
		    invalid_roles[i]);
}
END_TEST

START_TEST(test_enter_without_apparmor)
{
	aarole_set_ops(NULL);
	if (aa_is_enabled())
		return;   /* only meaningful where the kernel has none */
	ck_assert_int_eq(aarole_enter("worker"), 0);
	ck_assert_int_eq(aarole_enter("monitor"), 0);
}
END_TEST

/* ---- aarole_enter against a fake kernel -------------------------------- */

static struct {
	int enabled;            /* aa_is_enabled()'s answer */
	int enabled_errno;
	const char *label;      /* what aa_getcon() shows; NULL: it fails */
	const char *after;      /* the label after a successful stack */
	int stack_rc;           /* aa_stack_profile()'s answer */
	char stacked[64];       /* what was stacked ("" if nothing) */
	int stacks;             /* calls to aa_stack_profile() */
} k;

static int
fake_is_enabled(void)
{
	errno = k.enabled_errno;
	return k.enabled;
}

static int
fake_getcon(char **label, char **mode)
{
	char *l;

	if (k.label == NULL) {
		errno = EINVAL;
		return -1;
	}
	l = strdup(k.label);
	ck_assert_ptr_nonnull(l);
	*label = l;
	*mode = NULL;
	return (int)strlen(l);
}

static int
fake_stack_profile(const char *profile)
{
	k.stacks++;
	snprintf(k.stacked, sizeof(k.stacked), "%s", profile);
	if (k.stack_rc < 0) {
		errno = EACCES;
		return -1;
	}
	k.label = k.after;
	return 0;
}

static const aarole_ops_t fake_ops = {
	.is_enabled = fake_is_enabled,
	.getcon = fake_getcon,
	.stack_profile = fake_stack_profile,
};

static void
kernel(int enabled, const char *label, const char *after, int stack_rc)
{
	memset(&k, 0, sizeof(k));
	k.enabled = enabled;
	k.enabled_errno = enabled ? 0 : ENOENT;
	k.label = label;
	k.after = after;
	k.stack_rc = stack_rc;
	aarole_set_ops(&fake_ops);
}

START_TEST(test_enter_not_enabled)
{
	/* Not enabled (here: its file system not mounted, as in a
	 * container): nothing is read or stacked. */
	kernel(0, "torgate", NULL, 0);
	ck_assert_int_eq(aarole_enter("worker"), 0);
	ck_assert_int_eq(k.stacks, 0);
	/* A bad role still fails first. */
	ck_assert_int_eq(aarole_enter("Worker"), -1);
}
END_TEST

START_TEST(test_enter_unconfined)
{
	kernel(1, "unconfined", NULL, 0);
	ck_assert_int_eq(aarole_enter("worker"), 0);
	ck_assert_int_eq(aarole_enter("monitor"), 0);
	ck_assert_int_eq(k.stacks, 0);
}
END_TEST

START_TEST(test_enter_stacks_the_role)
{
	kernel(1, "torgate", "torgate//&torgate//worker", 0);
	ck_assert_int_eq(aarole_enter("worker"), 0);
	ck_assert_int_eq(k.stacks, 1);
	ck_assert_str_eq(k.stacked, "torgate//worker");
	/* Again: already there, nothing more is stacked. */
	ck_assert_int_eq(aarole_enter("worker"), 0);
	ck_assert_int_eq(k.stacks, 1);
	/* The other role on top of this one: refused, nothing stacked. */
	ck_assert_int_eq(aarole_enter("monitor"), -1);
	ck_assert_int_eq(k.stacks, 1);

	kernel(1, "torgate", "torgate//&torgate//monitor", 0);
	ck_assert_int_eq(aarole_enter("monitor"), 0);
	ck_assert_str_eq(k.stacked, "torgate//monitor");

	/* On a container's stack. */
	kernel(1, "lxc-default//&torgate",
	    "lxc-default//&torgate//&torgate//monitor", 0);
	ck_assert_int_eq(aarole_enter("monitor"), 0);
	ck_assert_str_eq(k.stacked, "torgate//monitor");
}
END_TEST

START_TEST(test_enter_fails_closed)
{
	/* The kernel refuses the stack (no child profile, no rule). */
	kernel(1, "torgate", "torgate//&torgate//worker", -1);
	ck_assert_int_eq(aarole_enter("worker"), -1);
	ck_assert_int_eq(k.stacks, 1);
	/* The stack "worked" but the label does not show the role. */
	kernel(1, "torgate", "torgate", 0);
	ck_assert_int_eq(aarole_enter("worker"), -1);
	kernel(1, "torgate", "torgate//&torgate//monitor", 0);
	ck_assert_int_eq(aarole_enter("worker"), -1);
	/* The label cannot be read afterwards. */
	kernel(1, "torgate", NULL, 0);
	ck_assert_int_eq(aarole_enter("worker"), -1);
	/* The label cannot be read at all: never taken for unconfined. */
	kernel(1, NULL, NULL, 0);
	ck_assert_int_eq(aarole_enter("worker"), -1);
	ck_assert_int_eq(k.stacks, 0);
	/* Another profile: its roles are unknown; nothing stacked. */
	kernel(1, "docker-default", NULL, 0);
	ck_assert_int_eq(aarole_enter("worker"), -1);
	kernel(1, "/usr/sbin/torgate", NULL, 0);
	ck_assert_int_eq(aarole_enter("monitor"), -1);
	ck_assert_int_eq(k.stacks, 0);
	aarole_set_ops(NULL);
}
END_TEST

static Suite *
aarole_suite(void)
{
	Suite *s = suite_create("aarole");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roles);
	tcase_add_test(tc, test_plan);
	tcase_add_test(tc, test_enter_invalid_role_fails_anywhere);
	tcase_add_test(tc, test_enter_without_apparmor);
	tcase_add_test(tc, test_enter_not_enabled);
	tcase_add_test(tc, test_enter_unconfined);
	tcase_add_test(tc, test_enter_stacks_the_role);
	tcase_add_test(tc, test_enter_fails_closed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tg_run_suite(aarole_suite());
}
