/*
 * cmdtab.h: the control commands torgate knows, as one declarative table
 * (cmdtab.c). Each row gives the wire name and flags; the session and the
 * policy read the flags instead of testing names. What each layer does
 * with a command is a table indexed by cmd_id_t in that layer: the
 * verdict checks (policy.c), torgate's own answers (builtin.c), what is
 * noted when a command is sent (command.c) and what its reply teaches
 * (relay.c). Adding a command is one row here and one per layer that
 * treats it specially.
 */
#ifndef TORGATE_CMDTAB_H
#define TORGATE_CMDTAB_H

#include <stdbool.h>
#include <stddef.h>

enum {
	CMD_F_PREAUTH = 1 << 0,  /* accepted before AUTHENTICATE */
	CMD_F_BODY = 1 << 1,     /* a multi-line command, sent as "+NAME" */
	CMD_F_SECRET = 1 << 2,   /* arguments may hold secrets: wipe, redact */
	CMD_F_OBSOLETE = 1 << 3, /* tor answers 511 "... is obsolete" */
	CMD_F_LOCAL = 1 << 4,    /* always answered by torgate itself */
	CMD_F_INTERCEPT = 1 << 5,/* some forms answered by torgate itself
	                          * (builtin.c says which), the rest judged */
	CMD_F_EVENTS = 1 << 6,   /* judged against the profile's `events`,
	                          * not its command rules */
};

/* Keep sorted by name, for the reader (lookups go through a hash). */
#define CMDTAB_LIST(X)                                                  \
	X(ADD_ONION, "ADD_ONION", CMD_F_SECRET)                         \
	X(ATTACHSTREAM, "ATTACHSTREAM", 0)                              \
	X(AUTHCHALLENGE, "AUTHCHALLENGE",                               \
	    CMD_F_PREAUTH | CMD_F_LOCAL | CMD_F_SECRET)                 \
	X(AUTHENTICATE, "AUTHENTICATE",                                 \
	    CMD_F_PREAUTH | CMD_F_LOCAL | CMD_F_SECRET)                 \
	X(CLOSECIRCUIT, "CLOSECIRCUIT", 0)                              \
	X(CLOSESTREAM, "CLOSESTREAM", 0)                                \
	X(DEL_ONION, "DEL_ONION", CMD_F_SECRET)                         \
	X(DROPGUARDS, "DROPGUARDS", 0)                                  \
	X(DROPOWNERSHIP, "DROPOWNERSHIP", CMD_F_LOCAL)                  \
	X(DROPTIMEOUTS, "DROPTIMEOUTS", 0)                              \
	X(EXTENDCIRCUIT, "EXTENDCIRCUIT", 0)                            \
	X(GETCONF, "GETCONF", 0)                                        \
	X(GETINFO, "GETINFO", 0)                                        \
	X(HSFETCH, "HSFETCH", 0)                                        \
	X(HSPOST, "HSPOST", CMD_F_BODY)                                 \
	X(LOADCONF, "LOADCONF", CMD_F_BODY)                             \
	X(MAPADDRESS, "MAPADDRESS", 0)                                  \
	X(ONION_CLIENT_AUTH_ADD, "ONION_CLIENT_AUTH_ADD", CMD_F_SECRET) \
	X(ONION_CLIENT_AUTH_REMOVE, "ONION_CLIENT_AUTH_REMOVE", 0)      \
	X(ONION_CLIENT_AUTH_VIEW, "ONION_CLIENT_AUTH_VIEW", 0)          \
	X(POSTDESCRIPTOR, "POSTDESCRIPTOR", CMD_F_BODY)                 \
	X(PROTOCOLINFO, "PROTOCOLINFO", CMD_F_PREAUTH | CMD_F_LOCAL)    \
	X(QUIT, "QUIT", CMD_F_PREAUTH | CMD_F_LOCAL)                    \
	X(REDIRECTSTREAM, "REDIRECTSTREAM", 0)                          \
	X(RESETCONF, "RESETCONF", CMD_F_INTERCEPT)                      \
	X(RESOLVE, "RESOLVE", 0)                                        \
	X(SAVECONF, "SAVECONF", 0)                                      \
	X(SETCIRCUITPURPOSE, "SETCIRCUITPURPOSE", 0)                    \
	X(SETCONF, "SETCONF", CMD_F_INTERCEPT)                          \
	X(SETEVENTS, "SETEVENTS", CMD_F_EVENTS)                         \
	X(SETROUTERPURPOSE, "SETROUTERPURPOSE", CMD_F_OBSOLETE)         \
	X(SIGNAL, "SIGNAL", 0)                                          \
	X(TAKEOWNERSHIP, "TAKEOWNERSHIP", CMD_F_LOCAL)                  \
	X(USEFEATURE, "USEFEATURE", 0)

typedef enum {
#define CMDTAB_ENUM(id, name, flags) CMD_##id,
	CMDTAB_LIST(CMDTAB_ENUM)
#undef CMDTAB_ENUM
	CMD_COUNT
} cmd_id_t;

typedef struct cmd_def {
	cmd_id_t id;
	const char *name;   /* wire name, upper case, without '+' */
	unsigned flags;
} cmd_def_t;

/*
 * Find the command for a keyword as the client sent it (any case). A
 * multi-line command matches only in its "+NAME" form and a one-line
 * command only without '+', as in tor. NULL when unknown.
 */
const cmd_def_t *cmdtab_lookup(const char *kw, size_t len);
/* Find a command by its name in a profile: any case, '+' optional. */
const cmd_def_t *cmdtab_lookup_name(const char *name);
const cmd_def_t *cmdtab_get(cmd_id_t id);

#endif
