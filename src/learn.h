/*
 * learn.h: --learn DIR. While torgate forwards everything (as with
 * --complain), it remembers, per client name, every command and event a
 * client used; when a client leaves it writes DIR/NAME.yml, a suggested
 * profile that allows exactly what clients of that name sent (literal,
 * regex-escaped patterns) and is qualified by the identity they had. A
 * packager reviews and edits it; it is never loaded automatically.
 */
#ifndef TORGATE_LEARN_H
#define TORGATE_LEARN_H

#include <stddef.h>

#include "cmdtab.h"
#include "peer.h"

typedef struct learn_set learn_set_t;

learn_set_t *learn_set_new(const char *dir);
void learn_set_free(learn_set_t *l);

/* Record for client `name` (identity peer) one command or one event. */
void learn_command(learn_set_t *l, const char *name, const peer_t *peer,
    const cmd_def_t *def, const char *args, size_t len);
void learn_event(learn_set_t *l, const char *name, const peer_t *peer,
    const char *event);

/* Write DIR/NAME.yml for name; 0 or -1 (logged). */
int learn_write(const learn_set_t *l, const char *name);

/* A file-safe name for a client: its profile, else the base name of its
 * AppArmor label or executable, else its address. */
void learn_name(const peer_t *peer, const char *profile, char *out,
    size_t outlen);

/* Escape s for a regex matching exactly s; new string. */
char *learn_regex_escape(const char *s, size_t len);

/* The pattern learnt for arguments args[0..n): args escaped, except that
 * every secret (a private key, a client auth key or cookie, a hashed
 * control password) is replaced by a class of its shape; new string.
 * The arguments are not copied anywhere else. */
char *learn_pattern(const char *args, size_t n);

#endif
