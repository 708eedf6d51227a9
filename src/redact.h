/*
 * redact.h: copies of protocol lines with secrets scrubbed, for --debug
 * logs. Secrets are: the arguments of commands flagged CMD_F_SECRET in
 * cmdtab (AUTHENTICATE, AUTHCHALLENGE, ONION_CLIENT_AUTH_ADD), private key
 * blobs in ADD_ONION ("ED25519-V3:<key>", "RSA1024:<key>"), client auth
 * keys ("x25519:<key>") and cookies ("ClientAuth=NAME:<cookie>"), and
 * reply lines such as "250-PrivateKey=...".
 */
#ifndef TORGATE_REDACT_H
#define TORGATE_REDACT_H

#include <stddef.h>

/* Return a new string: the command line (without EOL) with its secrets
 * replaced by "[scrubbed]". */
char *redact_command(const char *line, size_t len);

/* Return a new string: a reply or event line (without EOL), scrubbed. */
char *redact_reply(const char *line, size_t len);

#endif
