#!/bin/sh
# Check that the include graph of src/ follows the layer order written in
# ARCHITECTURE.md, in its fenced block that starts with ```layers: one
# layer per line, lowest first, module names separated by spaces.
#
#   sh tools/check-layers.sh [ROOT]     (ROOT: the project, by default
#                                        the one holding this script)
#
# Every C source and header in src/ belongs to a module: the one named
# exactly like its basename without extension, or else the longest module
# M such that the basename starts with "M_" (session_impl.h is session's,
# profile_yaml.c is profile's). A file may `#include "x.h"` headers of its
# own layer and of lower ones only. Included headers that are not in src/
# (the generated torgate_build.h) are not checked; commented-out includes
# are not includes.
#
# Fails, naming each problem, when a file includes a header of a higher
# layer, when a file in src/ belongs to no module, when a module is listed
# twice, or when a listed module has no file. Needs only sh and awk.
set -eu

root=${1:-"$(dirname "$0")/.."}
arch="$root/ARCHITECTURE.md"
src="$root/src"
[ -f "$arch" ] || { echo "check-layers: $arch not found" >&2; exit 2; }
[ -d "$src" ] || { echo "check-layers: $src not found" >&2; exit 2; }

files=$(find "$src" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
[ -n "$files" ] || { echo "check-layers: no C files in $src" >&2; exit 2; }
# Split the list at newlines only, and expand no patterns in it.
set -f
IFS='
'

# shellcheck disable=SC2086  # split at newlines (IFS)
LC_ALL=C awk -v arch="$arch" -v srcdir="$src" '
function base(p) { sub(/.*\//, "", p); return p }
function stem(p) { p = base(p); sub(/\.[^.]*$/, "", p); return p }
function rel(p) { return substr(p, length(srcdir) - 2) }   # "src/..."
function problem(msg) { print msg; bad++ }

# The module a file name belongs to, or "".
function module_of(name,    s, m, best) {
	s = stem(name)
	if (s in layer)
		return s
	best = ""
	for (m in layer)
		if (substr(s, 1, length(m) + 1) == m "_" &&
		    length(m) > length(best))
			best = m
	return best
}

# The line without its comments (block comments may span lines:
# in_comment carries over); string and character literals are kept, and
# what looks like a comment inside them is not one.
function strip(line,    out, i, n, c, q) {
	out = ""
	n = length(line)
	i = 1
	while (i <= n) {
		c = substr(line, i, 1)
		if (in_comment) {
			if (c == "*" && substr(line, i + 1, 1) == "/") {
				in_comment = 0
				i += 2
				out = out " "
			} else
				i++
			continue
		}
		if (c == "/" && substr(line, i + 1, 1) == "*") {
			in_comment = 1
			i += 2
			continue
		}
		if (c == "/" && substr(line, i + 1, 1) == "/")
			break
		if (c == "\"" || c == "\047") {
			q = c
			out = out c
			for (i++; i <= n; i++) {
				c = substr(line, i, 1)
				out = out c
				if (c == "\\") {
					i++
					out = out substr(line, i, 1)
				} else if (c == q)
					break
			}
			i++
			continue
		}
		out = out c
		i++
	}
	return out
}

BEGIN {
	# The layers block.
	while ((getline l < arch) > 0) {
		if (l ~ /^```layers[ \t]*$/) { in_block = 1; found = 1; continue }
		if (in_block && l ~ /^```/) { in_block = 0; continue }
		if (!in_block)
			continue
		n = split(l, w, /[ \t]+/)
		k = 0
		for (i = 1; i <= n; i++) {
			if (w[i] == "")
				continue
			if (!k++)
				nlayers++
			if (w[i] in layer)
				problem("ARCHITECTURE.md: module " w[i] \
				    " listed twice (layers " layer[w[i]] \
				    " and " nlayers ")")
			else {
				layer[w[i]] = nlayers
				order[++nmodules] = w[i]
			}
		}
	}
	close(arch)
	if (!found || nlayers == 0) {
		problem("ARCHITECTURE.md: no ```layers block")
		exit
	}
	# Every file belongs to a module.
	for (i = 1; i < ARGC; i++) {
		f = ARGV[i]
		insrc[base(f)] = 1
		mod[f] = module_of(f)
		if (mod[f] == "")
			problem(rel(f) ": belongs to no module of the " \
			    "layers block")
		else
			has_file[mod[f]] = 1
	}
}

FNR == 1 {
	in_comment = 0
	own = mod[FILENAME]
}

{
	if (own == "")
		next
	line = strip($0)
	if (line !~ /^[ \t]*#[ \t]*include[ \t]*"/)
		next
	sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", line)
	sub(/".*/, "", line)
	h = base(line)
	if (!(h in insrc))
		next              # generated (torgate_build.h), or not ours
	checked++
	hm = module_of(h)
	if (hm == "" || layer[hm] <= layer[own])
		next
	problem(rel(FILENAME) ": includes " line " (layer " layer[hm] \
	    ") above its own layer " layer[own] " (" own " -> " hm \
	    ", line " FNR ")")
}

END {
	# Every module has a file.
	for (i = 1; i <= nmodules; i++)
		if (!(order[i] in has_file))
			problem("ARCHITECTURE.md: module " order[i] \
			    " (layer " layer[order[i]] ") has no file in src/")
	if (bad) {
		printf "check-layers: %d problem%s\n", bad,
		    bad == 1 ? "" : "s"
		exit 1
	}
	printf "check-layers: %d includes in src/ follow the %d layers\n",
	    checked, nlayers
}
' $files
