/*
 * profile_files.c: the one place that reads profile files: scan the
 * profile directories, apply their precedence, read each file whole into
 * memory and hand the bytes to the schema walk (profile_schema.c). Every
 * other file of the profile module works on memory only.
 *
 * A directory contributes its *.yml and *.yaml files (hidden files
 * excluded), in name order, at most MAX_FILES of them. A file name found
 * in an earlier directory hides the same name in later ones, so a local
 * directory can override a packaged profile by naming its file alike.
 * Each file must be a regular file of at most PROFILE_MAX_FILE bytes (it
 * is opened with O_NONBLOCK and O_NOCTTY, so that a FIFO or a terminal
 * put there cannot hang or capture the loader). Problems with a file as a
 * whole are reported as FILE:0:0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "profile_impl.h"
#include "util.h"

#define MAX_FILES		4096	/* per directory */

/* Read file path (a regular file of at most PROFILE_MAX_FILE bytes) and
 * load its profiles into the set. */
static void
load_path(struct profile_builder *b, const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		profile_diag(b->d, true, path, 0, 0, "cannot open: %s",
		    strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0) {
		profile_diag(b->d, true, path, 0, 0, "cannot stat: %s",
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		profile_diag(b->d, true, path, 0, 0, "not a regular file");
		goto out;
	}
	buf = xmalloc(PROFILE_MAX_FILE + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, PROFILE_MAX_FILE + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			profile_diag(b->d, true, path, 0, 0, "cannot read: %s",
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > PROFILE_MAX_FILE) {
			profile_diag(b->d, true, path, 0, 0, "file is larger "
			    "than %d bytes", PROFILE_MAX_FILE);
			goto out;
		}
	}
	profile_builder_load(b, path, buf, len);
out:
	free(buf);
	close(fd);
}

static bool
has_profile_suffix(const char *name)
{
	size_t len = strlen(name);

	return (len > 4 && strcmp(name + len - 4, ".yml") == 0) ||
	    (len > 5 && strcmp(name + len - 5, ".yaml") == 0);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * List the *.yml and *.yaml names in dir (hidden files excluded), sorted,
 * into a new array *namesp of *np new strings. Return -1 if dir cannot be
 * read, having reported why unless it does not exist.
 */
static int
list_dir(struct profile_builder *b, const char *dir, char ***namesp, size_t *np)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			profile_diag(b->d, true, dir, 0, 0, "cannot read "
			    "directory: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(dp)) == NULL) {
			if (errno != 0)
				profile_diag(b->d, true, dir, 0, 0, "cannot "
				    "read directory: %s", strerror(errno));
			break;
		}
		if (de->d_name[0] == '.' || !has_profile_suffix(de->d_name))
			continue;
		if (n == MAX_FILES) {
			profile_diag(b->d, true, dir, 0, 0, "more than %d "
			    "profile files", MAX_FILES);
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*namesp = names;
	*np = n;
	return 0;
}

profile_set_t *
profile_set_load(const char *const *dirs, size_t ndirs, profile_diag_t *d)
{
	profile_diag_t local = { 0 };
	struct profile_builder b;
	struct taken {
		char *name;
		const char *dir;
	} *taken = NULL;
	size_t ntaken = 0;
	unsigned errors0;

	if (d == NULL)
		d = &local;
	errors0 = d->errors;
	profile_builder_init(&b, d);
	for (size_t i = 0; i < ndirs; i++) {
		char **names;
		size_t n;

		if (list_dir(&b, dirs[i], &names, &n) < 0)
			continue;
		for (size_t j = 0; j < n; j++) {
			char *path = xasprintf("%s/%s", dirs[i], names[j]);
			struct stat st;
			size_t k;

			for (k = 0; k < ntaken; k++)
				if (strcmp(taken[k].name, names[j]) == 0)
					break;
			if (k < ntaken) {
				log_debug("profile %s is hidden by %s/%s", path,
				    taken[k].dir, taken[k].name);
			} else if (stat(path, &st) == 0 &&
			    !S_ISREG(st.st_mode)) {
				log_debug("profile %s is not a regular file; "
				    "skipped", path);
			} else {
				load_path(&b, path);
				taken = xreallocarray(taken, ntaken + 1,
				    sizeof(*taken));
				taken[ntaken].name = names[j];
				taken[ntaken++].dir = dirs[i];
				names[j] = NULL;
			}
			free(path);
			free(names[j]);
		}
		free(names);
	}
	for (size_t k = 0; k < ntaken; k++)
		free(taken[k].name);
	free(taken);
	return profile_builder_finish(&b, errors0);
}
