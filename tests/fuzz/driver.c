/*
 * driver.c: replay files through a libFuzzer entry point without libFuzzer,
 * so that every build (sanitizers included) runs the corpora. Arguments are
 * files or directories; with none, one input is read from stdin.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_fp(FILE *fp)
{
	size_t cap = 4096, len = 0, n;
	uint8_t *buf = malloc(cap);

	if (buf == NULL)
		return -1;
	while ((n = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
run_path(const char *path, unsigned *count)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, NULL, alphasort);
		int rc = 0;
		if (n < 0) {
			perror(path);
			return -1;
		}
		for (int i = 0; i < n; i++) {
			char sub[4096];
			if (names[i]->d_name[0] != '.') {
				snprintf(sub, sizeof(sub), "%s/%s", path,
				    names[i]->d_name);
				if (run_path(sub, count) < 0)
					rc = -1;
			}
			free(names[i]);
		}
		free(names);
		return rc;
	}
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		perror(path);
		return -1;
	}
	int rc = run_fp(fp);
	fclose(fp);
	(*count)++;
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

	if (argc < 2)
		return run_fp(stdin) < 0;
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			rc = 1;
	printf("replayed %u inputs\n", count);
	if (count == 0)
		rc = 1;
	return rc;
}
