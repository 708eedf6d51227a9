/*
 * aarole.c: see aarole.h. (Roles not written yet: enters none.)
 */
#include "aarole.h"

int
aarole_enter(const char *role)
{
	(void)role;
	return 0;
}
