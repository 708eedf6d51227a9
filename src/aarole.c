/*
 * aarole.c: entering a process's AppArmor role. See aarole.h.
 *
 * A label is one profile ("torgate"), or several stacked ("A//&B"), each
 * possibly a child ("torgate//worker"). The plan reads it component by
 * component (its mode, if it shows one, set aside); only exact names
 * count, so no prefix or suffix of a name can pass for torgate's profile
 * or for one of its roles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/apparmor.h>

#include "aarole.h"
#include "log.h"

/* Keep in step with the child profiles in apparmor.d/usr.sbin.torgate. */
static const char *const roles[] = { "monitor", "worker" };

/* Stacked profiles in a label are separated by this. */
#define STACK_SEP "//&"

static const aarole_ops_t libapparmor_ops = {
	.is_enabled = aa_is_enabled,
	.getcon = aa_getcon,
	.stack_profile = aa_stack_profile,
};

static aarole_ops_t ops = {
	.is_enabled = aa_is_enabled,
	.getcon = aa_getcon,
	.stack_profile = aa_stack_profile,
};

/* The unconfined case is told once per process. */
static bool told_unconfined;

void
aarole_set_ops(const aarole_ops_t *o)
{
	ops = o != NULL ? *o : libapparmor_ops;
	told_unconfined = false;
}

bool
aarole_is_valid(const char *role)
{
	if (role == NULL)
		return false;
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i]) == 0)
			return true;
	return false;
}

int
aarole_target(const char *role, char *buf, size_t size)
{
	int n;

	if (!aarole_is_valid(role))
		return -1;
	n = snprintf(buf, size, "%s//%s", AAROLE_PROFILE, role);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

/* Is the component c[0..len) exactly s? */
static bool
component_is(const char *c, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(c, s, len) == 0;
}

/* The length of component c[0..len) without a mode after it: profiles of
 * a stack in different modes each show theirs ("torgate (enforce)"). */
static size_t
without_mode(const char *c, size_t len)
{
	if (len == 0 || c[len - 1] != ')')
		return len;
	for (size_t i = len - 1; i > 0; i--)
		if (c[i] == '(')
			return c[i - 1] == ' ' ? i - 1 : len;
	return len;
}

aarole_plan_t
aarole_plan(const char *label, const char *role)
{
	static const char child[] = AAROLE_PROFILE "//";
	bool base = false, in_role = false, in_other = false;
	const char *c, *end;

	if (!aarole_is_valid(role))
		return AAROLE_BAD_ROLE;
	if (label == NULL || *label == '\0')
		return AAROLE_FOREIGN;   /* unreadable: never "unconfined" */
	if (strcmp(label, "unconfined") == 0)
		return AAROLE_UNCONFINED;

	for (c = label; ; c = end + strlen(STACK_SEP)) {
		size_t len;

		end = strstr(c, STACK_SEP);
		len = end != NULL ? (size_t)(end - c) : strlen(c);
		len = without_mode(c, len);
		if (component_is(c, len, AAROLE_PROFILE))
			base = true;
		else if (len > sizeof(child) - 1 &&
		    memcmp(c, child, sizeof(child) - 1) == 0) {
			/* A child of torgate's profile: this role, or not. */
			if (component_is(c + sizeof(child) - 1,
			    len - (sizeof(child) - 1), role))
				in_role = true;
			else
				in_other = true;
		}
		/* Other components (a container's profile stacked with
		 * torgate's) stay as they are. */
		if (end == NULL)
			break;
	}
	if (in_other)
		return AAROLE_FOREIGN;
	if (in_role)
		return AAROLE_ALREADY;
	return base ? AAROLE_STACK : AAROLE_FOREIGN;
}

/* This process's label into *label (free() it); -1 if unreadable. */
static int
own_label(char **label)
{
	char *mode = NULL;

	*label = NULL;
	if (ops.getcon(label, &mode) < 0) {
		*label = NULL;
		return -1;
	}
	return 0;
}

int
aarole_enter(const char *role)
{
	char target[64];
	char *label = NULL;
	int rc = -1;

	if (aarole_target(role, target, sizeof(target)) < 0) {
		log_warnx("AppArmor: no role named \"%s\" (torgate's roles are "
		    "monitor and worker)", role != NULL ? role : "(null)");
		return -1;
	}
	errno = 0;
	if (!ops.is_enabled()) {
		log_debug("AppArmor is not enabled here (%s): the %s process "
		    "keeps its confinement as it is", strerror(errno), role);
		return 0;
	}
	if (own_label(&label) < 0) {
		log_warn("AppArmor: cannot read this process's label, so the "
		    "%s role cannot be entered", role);
		return -1;
	}

	switch (aarole_plan(label, role)) {
	case AAROLE_UNCONFINED:
		if (!told_unconfined)
			log_info("AppArmor: torgate runs unconfined (no profile "
			    "for it is loaded): the %s process is not confined "
			    "to its role", role);
		told_unconfined = true;
		rc = 0;
		break;
	case AAROLE_ALREADY:
		rc = 0;
		break;
	case AAROLE_STACK:
		if (ops.stack_profile(target) < 0) {
			log_warn("AppArmor: cannot enter the %s role (stacking "
			    "%s on %s)", role, target, label);
			break;
		}
		/* Fail closed unless the kernel now shows the role. */
		free(label);
		if (own_label(&label) < 0) {
			log_warn("AppArmor: cannot read this process's label "
			    "after entering the %s role", role);
			break;
		}
		if (aarole_plan(label, role) != AAROLE_ALREADY) {
			log_warnx("AppArmor: the %s role did not take: the "
			    "label is %s", role, label);
			break;
		}
		log_debug("AppArmor: the %s process now runs as %s", role,
		    label);
		rc = 0;
		break;
	case AAROLE_FOREIGN:
		log_warnx("AppArmor: this process runs as %s, which is "
		    "neither torgate's own profile \"%s\" "
		    "(apparmor.d/usr.sbin.torgate) nor its %s role: the role "
		    "cannot be entered", label, AAROLE_PROFILE, role);
		break;
	case AAROLE_BAD_ROLE:
		break;   /* checked above */
	}
	free(label);
	return rc;
}
