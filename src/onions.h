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
 *
 * Services created with Flags=Detach outlive their control connection and
 * torgate itself; they are marked detached, and those marks are what the
 * state file keeps across a restart of torgate (onionstate.h).
 */
#ifndef TORGATE_ONIONS_H
#define TORGATE_ONIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Mark the recorded service sid detached (or not); false if sid is not
 * recorded. onions_add() of a recorded service clears the mark. */
bool onions_set_detached(onions_t *o, const char *sid, size_t len,
    bool detached);
bool onions_is_detached(const onions_t *o, const char *sid, size_t len);
/*
 * A service not detached lives as long as the control connection that
 * made it: onions_set_conn() ties the recorded sid to that connection
 * (conn: the session's id, not 0; false if sid is not recorded or is
 * detached), and when the connection ends, onions_forget_conn() forgets
 * sid if it is still tied to conn -- not if it was deleted and created
 * again since, on another connection or detached; true if it did).
 * Re-adding a service or marking it detached unties it.
 */
bool onions_set_conn(onions_t *o, const char *sid, size_t len, uint64_t conn);
bool onions_on_conn(const onions_t *o, const char *sid, size_t len,
    uint64_t conn);
bool onions_forget_conn(onions_t *o, const char *sid, size_t len,
    uint64_t conn);
/* Call fn for every detached service, in no particular order. fn may
 * change marks (onions_set_detached) but must not add or remove. */
void onions_each_detached(const onions_t *o,
    void (*fn)(void *arg, const char *sid, const char *profile), void *arg);

/* Would tor create the service of ADD_ONION args[0..len) (the arguments
 * after the keyword, as tor receives them) detached? Read as tor reads
 * them: the first space-separated argument is the key, the rest K=V items
 * separated by whitespace; any "Flags" item (any case) whose
 * comma-separated list holds "Detach" (any case). Lines tor would refuse
 * may give either answer: they create nothing. */
bool onions_args_detach(const char *args, size_t len);

#endif
