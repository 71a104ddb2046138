#!/bin/sh
# Builds the Debian packages (debian/) from a copy of the tree, into OUT.
# Usage: packaging/make-deb.sh OUT   (make deb: OUT is build-deb)
# dpkg-buildpackage builds in the source dir and writes the .debs to its parent, so the copy
# is OUT/src and the packages land in OUT. The copy holds what git tracks plus new files it
# does not ignore (so uncommitted work is packaged too), or, outside git, the tree without
# its build dirs. Prints the .changes file's path last.
set -eu
out=$1
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
case "$out/" in "$here"/build*/*) ;; "$here"/*)
	echo "make-deb.sh: OUT ($out) must be outside the tree or a build* dir in it" >&2
	exit 2 ;;
esac
rm -rf "$out/src" "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo
mkdir "$out/src"
cd "$here"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# (a file deleted but not yet committed is left out)
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi; done' sh |
		tar --null -T - -cf - | tar -C "$out/src" -xf -
else
	tar --exclude='./build*' --exclude=./var --exclude=./node_modules -cf - . | tar -C "$out/src" -xf -
fi
cd "$out/src"
log=$out/build.log
echo "make-deb.sh: building the packages in $out/src (log: $log)" >&2
if ! dpkg-buildpackage -us -uc -b -j"$(nproc)" >"$log" 2>&1; then
	echo "make-deb.sh: dpkg-buildpackage failed; the end of $log:" >&2
	tail -n 30 "$log" >&2
	exit 1
fi
ls "$out"/*.deb >&2
ls "$out"/*.changes
