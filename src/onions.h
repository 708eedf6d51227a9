/*
 * onions.h: which profile created which onion service, for as long as
 * torgate runs. ADD_ONION replies record the ServiceID under the client's
 * profile (detached services included); a successful DEL_ONION forgets
 * it. A client may DEL_ONION only services of its own profile, so one
 * application cannot take down another's service.
 *
 * Bounded: at most ONIONS_MAX services are remembered; past that new ones
 * are not recorded (and so cannot be deleted through torgate), which errs
 * on the side of keeping services up.
 */
#ifndef TORGATE_ONIONS_H
#define TORGATE_ONIONS_H

#include <stdbool.h>
#include <stddef.h>

#define ONIONS_MAX 65536

typedef struct onions onions_t;

onions_t *onions_new(void);
void onions_free(onions_t *o);
/* Record sid (case-insensitive) as created by profile; false if full. */
bool onions_add(onions_t *o, const char *profile, const char *sid,
    size_t len);
bool onions_owned(const onions_t *o, const char *profile, const char *sid,
    size_t len);
void onions_remove(onions_t *o, const char *sid, size_t len);
size_t onions_count(const onions_t *o);

#endif
