#!/bin/bash
# The manual pages: clean under mandoc -Tlint, and dungeongate.ini(5)
# holds every key of the schema (dg-broker --print-schema), in its
# section, with its default, and no key the schema lacks.
set -u
: "${DG_BUILDDIR:?}" "${DG_SRCDIR:?}"
command -v mandoc >/dev/null || { echo "man.sh: mandoc is needed"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0

for page in dg-broker.8 dg-session.1 dungeongate.ini.5; do
	if out=$(mandoc -Tlint -W warning "$DG_SRCDIR/man/$page" 2>&1) &&
	    [ -z "$out" ]; then
		echo "man.sh: ok: $page is lint-clean"
	else
		echo "man.sh: FAIL: mandoc -Tlint $page:"
		printf '%s\n' "$out" | sed 's/^/    | /'
		failed=1
	fi
done

# What the page says, in the form --print-schema prints: each key of a
# section's list with the default its literal block gives, and the
# literal block alone for a section without a list ([quota:vip]).
awk '
function flush(   i, n, k, keys) {
	if (sec == "")
		return
	if (nitems == 0) {
		for (i = 1; i <= nlit; i++)
			print sec " " lit[i] " =" (def[lit[i]] == "" ? "" : " " def[lit[i]])
	} else {
		for (i = 1; i <= nitems; i++) {
			k = item[i]
			if (k in def)
				print sec " " k " =" (def[k] == "" ? "" : " " def[k])
			else
				print sec " " k
			used[k] = 1
		}
		for (i = 1; i <= nlit; i++)
			if (!(lit[i] in used))
				print sec " " lit[i] " = " def[lit[i]] " (in the block, not described)"
	}
	sec = ""; nitems = 0; nlit = 0
	split("", def); split("", used); split("", item); split("", lit)
}
/^\.S[hs] / {
	flush()
	if ($1 == ".Ss" && $2 ~ /^\[/) {
		sec = $2
		sub(/^\[/, "", sec)
		sub(/\]\\&$/, "", sec)
	}
	next
}
sec == "" { next }
/^\.Bd -literal/ { inlit = 1; next }
/^\.Ed/ { inlit = 0; next }
inlit {
	line = $0
	sub(/^[ \t]+/, "", line)
	k = line; sub(/[ \t]*=.*$/, "", k)
	v = line; sub(/^[^=]*=[ \t]*/, "", v)
	lit[++nlit] = k; def[k] = v
	next
}
$1 == ".It" && $2 == "Cm" { item[++nitems] = $3 }
END { flush() }
' "$DG_SRCDIR/man/dungeongate.ini.5" | sort > "$tmp/page"
"$DG_BUILDDIR/dg-broker" --print-schema | sort > "$tmp/schema"
if [ ! -s "$tmp/schema" ]; then
	echo "man.sh: FAIL: dg-broker --print-schema printed nothing"
	failed=1
elif diff -u "$tmp/schema" "$tmp/page" > "$tmp/diff"; then
	echo "man.sh: ok: dungeongate.ini(5) has every key of the schema ($(wc -l < "$tmp/schema")) and its default"
else
	echo "man.sh: FAIL: dungeongate.ini(5) and the schema differ (- schema, + page):"
	sed 's/^/    | /' "$tmp/diff"
	failed=1
fi
exit "$failed"
