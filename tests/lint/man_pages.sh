#!/bin/sh
# The man pages (packaging/man) agree with --help: every option and command that `tarsd
# --help` and `tarsctl --help` print is in tarsd(8) and tarsctl(1), and every option the
# pages describe is one the programs print (so neither drifts when the other changes).
. "$(dirname "$0")/../tap.sh"
MAN=$SRC/packaging/man
# the --options of a text (a man page's are written \-\-name)
options() { sed 's/\\-/-/g' "$1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
"$TARSD" --help >"$TMP/tarsd.help" 2>&1
"$TARSCTL" --help >"$TMP/tarsctl.help" 2>&1
for prog in tarsd tarsctl; do
	page=$(ls "$MAN/$prog".[0-9])
	options "$TMP/$prog.help" >"$TMP/$prog.help.opts"
	options "$page" >"$TMP/$prog.man.opts"
	missing=$(comm -23 "$TMP/$prog.help.opts" "$TMP/$prog.man.opts" | tr '\n' ' ')
	check "every option of $prog --help is in $(basename "$page")${missing:+ (missing: $missing)}" test -z "$missing"
	extra=$(comm -13 "$TMP/$prog.help.opts" "$TMP/$prog.man.opts" | tr '\n' ' ')
	check "  and $(basename "$page") describes no option $prog lacks${extra:+ ($extra)}" test -z "$extra"
done
# tarsd's commands (the usage line's [a|b|c]) and tarsctl's (the first words of each entry).
cmds=$(sed -n 's/^usage: tarsd \[\([a-z|]*\)\].*/\1/p' "$TMP/tarsd.help" | tr '|' ' ')
check "tarsd --help's usage line names its commands ($cmds)" test -n "$cmds"
for c in $cmds; do
	check "tarsd(8) has a section for '$c'" grep -qx ".B $c" "$MAN/tarsd.8"
done
sed -n '/^Commands:/,/^Options/p' "$TMP/tarsctl.help" | grep -E '^  [a-z]' |
	sed 's/^  //; s/  .*//' | awk '{w=$1; if ($2 ~ /^[a-z]+$/) w=w" "$2; print w}' | sort -u >"$TMP/ctl.cmds"
sed 's/\\-/-/g; s/\\f[BIR]//g' "$MAN/tarsctl.1" >"$TMP/tarsctl.1.txt"
missing=""
while read -r c; do
	grep -q "^$c\( \|$\)" "$TMP/tarsctl.1.txt" || missing="$missing '$c'"
done <"$TMP/ctl.cmds"
check "tarsctl(1) has every command of tarsctl --help ($(wc -l <"$TMP/ctl.cmds") of them)${missing:+; missing:$missing}" \
	sh -c "test -z '$missing' && test \$(wc -l <'$TMP/ctl.cmds') -gt 20"
done_testing
