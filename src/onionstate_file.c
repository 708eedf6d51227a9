/*
 * onionstate_file.c: the state file's I/O, in one place. See onionstate.h.
 *
 * Reading trusts only a regular file owned by torgate's user that nobody
 * else may write (whoever can write it could claim another application's
 * service), no larger than ONIONSTATE_MAX_BYTES. Writing never leaves a
 * half-written file: a temporary file in the same directory, fsync, rename
 * over the old one, fsync of the directory so the rename itself is on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onionstate.h"
#include "util.h"

onionstate_load_t
onionstate_load(const char *dir, onionstate_t *st, char *why, size_t whylen)
{
	char *path = xasprintf("%s/%s", dir, ONIONSTATE_FILE);
	onionstate_load_t r = ONIONSTATE_BAD;
	char *buf = NULL, perr[256];
	size_t got = 0;
	struct stat sb;
	int fd;

	why[0] = '\0';
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			r = ONIONSTATE_ABSENT;
			goto done;
		}
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &sb) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		goto done;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, whylen, "%s: not owned by torgate's user, or "
		    "writable by others", path);
		goto done;
	}
	if ((unsigned long long)sb.st_size > ONIONSTATE_MAX_BYTES) {
		snprintf(why, whylen, "%s: larger than %zu bytes", path,
		    (size_t)ONIONSTATE_MAX_BYTES);
		goto done;
	}
	/* Read to EOF, but never more than the bound (the file may grow
	 * between fstat and read). */
	buf = xmalloc((size_t)sb.st_size + 1);
	for (;;) {
		ssize_t n;
		if (got == (size_t)sb.st_size) {
			char c;
			n = read(fd, &c, 1);
			if (n > 0) {
				snprintf(why, whylen, "%s: changed while read",
				    path);
				goto done;
			}
		} else {
			n = read(fd, buf + got, (size_t)sb.st_size - got);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (onionstate_parse(buf, got, st, perr, sizeof(perr)) < 0) {
		snprintf(why, whylen, "%s: %s", path, perr);
		goto done;
	}
	r = ONIONSTATE_LOADED;
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return r;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
onionstate_save(const char *dir, const onionstate_t *st, char *why,
    size_t whylen)
{
	char *tmp = xasprintf("%s/.%s.XXXXXX", dir, ONIONSTATE_FILE);
	char *path = xasprintf("%s/%s", dir, ONIONSTATE_FILE);
	size_t len;
	char *text = onionstate_format(st, &len);
	int fd = -1, dfd = -1, rc = -1;
	const char *step;

	why[0] = '\0';
	step = "create a temporary file";
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		tmp[0] = '\0';
		goto fail;
	}
	step = "set its mode";
	if (fchmod(fd, 0600) < 0)
		goto fail;
	step = "write";
	if (write_all(fd, text, len) < 0)
		goto fail;
	step = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	step = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "rename the temporary file";
	if (rename(tmp, path) < 0)
		goto fail;
	tmp[0] = '\0';
	/* The rename is durable once the directory is. */
	step = "fsync the directory";
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(dfd) < 0)
		goto fail;
	rc = 0;
	goto done;
fail:
	snprintf(why, whylen, "%s: cannot %s: %s", path, step,
	    strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp[0] != '\0')
		unlink(tmp);
	free(tmp);
	free(path);
	free(text);
	return rc;
}
