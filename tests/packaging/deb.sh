#!/bin/sh
# The Debian packages (debian/, issue 12), built, checked and installed into this machine:
#   - built from a copy of the tree (packaging/make-deb.sh, as `make deb`); lintian clean at
#     error and warning; the SDK's symbols file enforced; the unit verifies and scores <= 2.0;
#   - installed with apt: the _tars user, the layout, modes and conffiles as docs/admin-guide.md
#     says; `runuser -u _tars -- tarsd serve` on the installed defaults trains the bundled
#     agents and serves the UI with Chart.js; tarsctl finds it and its token with no option,
#     as root and as a member of group _tars, not as anyone else;
#   - the unit's MemoryDenyWriteExecute= and NoNewPrivileges= (applied here by prctl, as
#     systemd does; this machine has no systemd running) leave code swaps working;
#   - the SDK example built out of tree against libtars-sdk-dev alone (CMake and pkg-config),
#     dropped into /usr/local/lib/tars/plugins and picked up by the running service;
#   - an upgrade over an edited conffile (kept, .dpkg-dist written), a reinstall, a remove
#     (state kept), a purge (state and user gone), and nothing left behind on the file system.
# Needs root (or sudo without a password, through which it runs itself again) and nothing of
# tars installed: it installs into this machine and purges after.
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	exec sudo -n -E sh "$0" "$@"
fi
. "$(dirname "$0")/../tap.sh"

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root or password-less sudo: it installs the packages into this machine"
for tool in dpkg-buildpackage dh lintian systemd-analyze apt-get runuser; do
	command -v "$tool" >/dev/null 2>&1 || skip_all "$tool is missing (packaging/deps.sh test installs it)"
done
PKGS="tarsd libtars-sdk1 libtars-sdk-dev tars-web tars-doc"
# The release being packaged, as debian/changelog names it.
VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
for p in $PKGS; do
	if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | cut -c1-2)" = "ii" ]; then
		skip_all "$p is installed on this machine: this test installs and purges its own"
	fi
done
getent passwd _tars >/dev/null && skip_all "a user _tars exists: this test creates and removes it"
getent passwd tarsop >/dev/null && skip_all "a user tarsop exists: this test creates and removes it"
for f in /usr/local/lib/tars /etc/tars /var/lib/tars; do
	[ -e "$f" ] && skip_all "$f exists: this test installs and purges its own"
done

# The tars packages dpkg knows of (installed, or removed with their conffiles left): apt
# refuses to purge a package it cannot find anywhere, as a removed library is.
known() { dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $PKGS 2>/dev/null | awk '$1 != "un" {print $2}'; }
# Whatever happens, nothing of this test stays installed.
SVC="" RUNUSER=""
purge_all() {
	[ -n "$SVC" ] && kill -KILL "$SVC" 2>/dev/null
	rm -f /usr/local/lib/tars/plugins/agent-hillclimb.so /etc/tars/manifests.d/hillclimb.json
	[ -z "$(known)" ] || DEBIAN_FRONTEND=noninteractive apt-get purge -y $(known) >"$TMP/cleanup.log" 2>&1
	userdel tarsop >/dev/null 2>&1
}
trap 'purge_all; cleanup' EXIT

# The file system, as names, types, modes and owners (not contents or times), without what
# changes on its own or belongs to other tests: snapshot FILE.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/apt \
		-o -path /var/lib/dpkg -o -path /root -o -path /work -o -path "$SRC" -o -path "$B" \
		-o -path "${TMPDIR:-/tmp}" \) -prune -o -printf '%y %m %u %g %p\n' 2>/dev/null |
		sort >"$1"
}
snapshot "$TMP/before"

# ---- build, lintian, symbols, the unit
"$SRC/packaging/make-deb.sh" "$TMP/deb" >"$TMP/make-deb.out" 2>"$TMP/make-deb.err"
ok $? "make-deb.sh builds the packages from a copy of the tree" ||
	diag "$(tail -n 20 "$TMP/make-deb.err")"
CHANGES=$(tail -n 1 "$TMP/make-deb.out")
for p in tarsd libtars-sdk1 libtars-sdk-dev; do
	check "  $p (amd64 or this machine's arch)" sh -c "ls '$TMP/deb/${p}_'*.deb >/dev/null 2>&1"
done
for p in tars-web tars-doc; do
	check "  $p (all)" test -f "$TMP/deb/${p}_${VERSION}_all.deb"
done
lintian --fail-on error,warning "$CHANGES" >"$TMP/lintian.out" 2>&1
ok $? "lintian --fail-on error,warning passes on the .changes" || diag "$(grep -v '^N:' "$TMP/lintian.out")"
# A symbol gone from the symbols file (as if the SDK had grown one unlisted) fails the check.
SYM=$SRC/debian/libtars-sdk1.symbols
grep -v 'tars_rng_seed@' "$SYM" >"$TMP/fewer.symbols"
(cd "$TMP/deb/src" && DPKG_GENSYMBOLS_CHECK_LEVEL=4 dpkg-gensymbols -plibtars-sdk1 -Pdebian/libtars-sdk1 \
	-I"$TMP/fewer.symbols" -O"$TMP/out.symbols" >"$TMP/gensym.out" 2>&1)
check "an SDK symbol missing from debian/libtars-sdk1.symbols fails the build's symbols check" test $? -ne 0
(cd "$TMP/deb/src" && DPKG_GENSYMBOLS_CHECK_LEVEL=4 dpkg-gensymbols -plibtars-sdk1 -Pdebian/libtars-sdk1 \
	-I"$SYM" -O"$TMP/out.symbols" >"$TMP/gensym.out" 2>&1)
ok $? "  and the tree's symbols file matches the library exactly" || diag "$(cat "$TMP/gensym.out")"
UNIT=$SRC/packaging/systemd/tarsd.service
systemd-analyze security --offline=true --threshold=20 "$UNIT" >"$TMP/security.out" 2>&1
ok $? "the unit's exposure is at most 2.0 ($(sed -n 's/.*exposure level for tarsd.service: \([0-9.]*\).*/\1/p' "$TMP/security.out"))"

# ---- install
cd "$TMP/deb" || exit 1
DEBS=$(ls ./*.deb | grep -v dbgsym)
DEBIAN_FRONTEND=noninteractive apt-get install -y $DEBS >"$TMP/install.log" 2>&1
ok $? "apt-get install ./*.deb" || diag "$(tail -n 20 "$TMP/install.log")"
cd "$TMP" || exit 1
systemd-analyze verify /lib/systemd/system/tarsd.service >"$TMP/verify.out" 2>&1
check "systemd-analyze verify prints nothing on the installed unit" test ! -s "$TMP/verify.out" ||
	diag "$(cat "$TMP/verify.out")"
check "the system user _tars exists, with no shell, at home in /var/lib/tars" \
	sh -c "getent passwd _tars | grep -q ':/var/lib/tars:/usr/sbin/nologin$'"
stat_is() { [ "$(stat -c '%a %U %G' "$1")" = "$2" ] || { diag "$1: $(stat -c '%a %U %G' "$1")"; false; }; }
check "/var/lib/tars is 750 _tars _tars" stat_is /var/lib/tars "750 _tars _tars"
check "/etc/tars/tarsd.json is 644 root root" stat_is /etc/tars/tarsd.json "644 root root"
check "  and a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' tarsd | grep -q '/etc/tars/tarsd.json'"
check "/etc/tars/manifests.d exists for the operator's manifests" test -d /etc/tars/manifests.d
check "/usr/local/lib/tars/plugins exists for the operator's plugins" test -d /usr/local/lib/tars/plugins
TRIPLET=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
check "the plugins are in /usr/lib/$TRIPLET/tars/plugins" test -f "/usr/lib/$TRIPLET/tars/plugins/agent-ppo.so"
check "the manifests in /usr/share/tars/manifests" test -f /usr/share/tars/manifests/ppo.json
check "libtars-sdk.so.1 in /usr/lib/$TRIPLET" test -f "/usr/lib/$TRIPLET/libtars-sdk.so.1"
check "tarsd in /usr/sbin, tarsctl in /usr/bin" sh -c "test -x /usr/sbin/tarsd && test -x /usr/bin/tarsctl"
check "no RUNPATH in tarsd or the SDK" sh -c "! readelf -d /usr/sbin/tarsd /usr/lib/$TRIPLET/libtars-sdk.so.1 | grep -q 'RUNPATH\|RPATH'"
for m in tarsd.8 tarsctl.1 tars-plugin.7; do
	check "man page $m" sh -c "man -w ${m%.*} >/dev/null 2>&1"
done
check "the UI in /usr/share/tars/www" test -f /usr/share/tars/www/index.html
check "the nginx example in /usr/share/doc/tarsd/examples" test -f /usr/share/doc/tarsd/examples/tars.conf
check "pkg-config's plugindir is the packaged plugin dir" \
	test "$(realpath "$(pkg-config --variable=plugindir tars-sdk)")" = "/usr/lib/$TRIPLET/tars/plugins"
check "  and plugin_abi is the ABI tarsd provides (tars-plugin-abi-$(pkg-config --variable=plugin_abi tars-sdk))" \
	sh -c "dpkg-query -W -f='\${Provides}' tarsd | grep -q \"tars-plugin-abi-\$(pkg-config --variable=plugin_abi tars-sdk)\""

# ---- the service, run as the unit runs it (User=_tars, MDWE and NoNewPrivileges by prctl)
# (_tars reads it from this test's dir, which only root could enter)
chmod 711 "$TMP"
cat >"$TMP/hardened.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
# PR_SET_MDWE (65), PR_MDWE_REFUSE_EXEC_GAIN (1): no memory both writable and executable, as
# MemoryDenyWriteExecute=; PR_SET_NO_NEW_PRIVS (38), as NoNewPrivileges=.
if libc.prctl(65, 1, 0, 0, 0) != 0 or libc.prctl(38, 1, 0, 0, 0) != 0:
    sys.exit("prctl: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
EOF
# The operator's edit: a port of its own (the upgrade below must keep it).
FREE=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s/127.0.0.1:8080/127.0.0.1:$FREE/" /etc/tars/tarsd.json
runuser -u _tars -- /usr/sbin/tarsd check >"$TMP/check.out" 2>&1
ok $? "tarsd check passes as _tars on the installed defaults (the unit's ExecStartPre)"
# serve_installed: starts it, sets SVC (tarsd's own pid: other tests' daemons are named
# tarsd too, so nothing here signals by name) and RUNUSER; stop_installed stops it.
serve_installed() {
	: >"$TMP/svc.log"
	runuser -u _tars -- python3 "$TMP/hardened.py" /usr/sbin/tarsd serve --log-format text >"$TMP/svc.log" 2>&1 &
	RUNUSER=$!
	_pids="$_pids $RUNUSER"
	for _i in $(seq 200); do
		SVC=$(pgrep -P "$RUNUSER" -x tarsd)
		[ -n "$SVC" ] && grep -q "listening on http://127.0.0.1:$FREE" "$TMP/svc.log" && return 0
		sleep 0.1
	done
	diag "$(tail -n 5 "$TMP/svc.log")"
	return 1
}
stop_installed() {
	kill -TERM "$SVC"
	wait "$RUNUSER"
	SVC=""
}
serve_installed
ok $? "runuser -u _tars -- tarsd serve starts on the installed defaults, hardened"
check "  with the 4 bundled agents of /etc/tars/tarsd.json" grep -q "4 agents, state in /var/lib/tars" "$TMP/svc.log"
check "  and writes the admin token 640 _tars _tars" stat_is /var/lib/tars/admin.token "640 _tars _tars"
curl -s "http://127.0.0.1:$FREE/" >"$TMP/index.html"
check "the UI loads" grep -q '<title>' "$TMP/index.html"
code=$(curl -s -o "$TMP/chart.js" -w '%{http_code}' "http://127.0.0.1:$FREE/vendor/chart.js/chart.min.js")
check "  with Chart.js from libjs-chart.js ($code)" sh -c "test $code = 200 && cmp -s '$TMP/chart.js' /usr/share/javascript/chart.js/chart.min.js"
tarsctl agents >"$TMP/agents.out" 2>&1
ok $? "tarsctl agents works as root with no option" || diag "$(cat "$TMP/agents.out")"
check "  listing the bundled agents, training" sh -c "grep -c ' running ' '$TMP/agents.out' | grep -qx 4"
useradd -M -N -G _tars -s /usr/sbin/nologin tarsop
runuser -u tarsop -- tarsctl whoami >"$TMP/whoami.out" 2>&1
ok $? "  and as a member of group _tars" || diag "$(cat "$TMP/whoami.out")"
runuser -u nobody -- tarsctl agents >"$TMP/nobody.out" 2>&1
check "  but not as nobody ($?), who is told why in one line" sh -c "test $? = 1 && test \$(wc -l <'$TMP/nobody.out') = 1 && grep -q 'admin.token: Permission denied (run tarsctl as root or as a member of group _tars)' '$TMP/nobody.out'" ||
	diag "$(cat "$TMP/nobody.out")"
steps_of() { tarsctl --json agents | json "agents.$1.steps"; }
s1=$(steps_of 0)
sleep 2
check "  and the agents train (steps $s1 -> $(steps_of 0))" test "$(steps_of 0)" -gt "$s1"

# ---- a third party's plugin, built against libtars-sdk-dev alone
cp -r /usr/share/doc/libtars-sdk-dev/examples/hillclimb "$TMP/hc"
(cd "$TMP/hc" && cmake -S . -B b >"$TMP/hc.log" 2>&1 && cmake --build b >>"$TMP/hc.log" 2>&1)
ok $? "the SDK example builds with find_package(TarsSDK), nothing but the packages" || diag "$(tail -n 10 "$TMP/hc.log")"
check "  finding the SDK in /usr/lib/$TRIPLET/cmake (the -dev package's)" \
	grep -qx "TarsSDK_DIR:PATH=/usr/lib/$TRIPLET/cmake/TarsSDK" "$TMP/hc/b/CMakeCache.txt"
(cd "$TMP/hc" && make -s >"$TMP/hcpc.log" 2>&1)
ok $? "  and with pkg-config" || diag "$(tail -n 10 "$TMP/hcpc.log")"
install -m 644 "$TMP/hc/b/agent-hillclimb.so" /usr/local/lib/tars/plugins/
tarsctl plugin manifest /usr/local/lib/tars/plugins/agent-hillclimb.so -o /etc/tars/manifests.d/hillclimb.json
ok $? "  tarsctl writes its manifest into /etc/tars/manifests.d"
tarsctl plugin rescan >"$TMP/rescan.out" 2>&1
check "  the running service picks it up (tarsctl plugin rescan)" grep -q 'loaded agent hillclimb' "$TMP/rescan.out" ||
	diag "$(cat "$TMP/rescan.out")"
tarsctl agent create hc --agent hillclimb --env cartpole >"$TMP/create.out" 2>&1
ok $? "  and trains an agent on it" || diag "$(cat "$TMP/create.out")"
# A code swap under MemoryDenyWriteExecute=: the new build is copied and mapped from the cache.
sed -i 's/Scale of the noise added to the best weights./The noise scale (a rebuild)./' "$TMP/hc/hillclimb.c"
(cd "$TMP/hc" && cmake --build b >>"$TMP/hc.log" 2>&1)
cp "$TMP/hc/b/agent-hillclimb.so" /usr/local/lib/tars/plugins/.agent-hillclimb.so.new
mv /usr/local/lib/tars/plugins/.agent-hillclimb.so.new /usr/local/lib/tars/plugins/agent-hillclimb.so
for _i in $(seq 100); do grep -q "plugin 'hillclimb': generation 2" "$TMP/svc.log" && break; sleep 0.1; done
check "a code swap works under the unit's MemoryDenyWriteExecute=" grep -q "plugin 'hillclimb': generation 2 .* 1 of 1 instances migrated" "$TMP/svc.log" ||
	diag "$(tail -n 5 "$TMP/svc.log")"
# Its agent goes before its plugin does (else it would wait in the store for the plugin).
tarsctl agent delete hc >"$TMP/delete.out" 2>&1
ok $? "  and its agent is deleted (tarsctl agent delete)" || diag "$(cat "$TMP/delete.out")"
stop_installed
check "SIGTERM stops it cleanly" grep -q 'stopped cleanly' "$TMP/svc.log"
rm /usr/local/lib/tars/plugins/agent-hillclimb.so /etc/tars/manifests.d/hillclimb.json

# ---- upgrade over the edited conffile: a newer tarsd whose packaged config changed
mkdir "$TMP/up"
dpkg-deb -R "$TMP/deb"/tarsd_${VERSION}_*.deb "$TMP/up/tarsd"
sed -i "s/^Version: $VERSION$/Version: $VERSION+up1/" "$TMP/up/tarsd/DEBIAN/control"
sed -i 's/"admin_token_group": true,/"admin_token_group": true,\n  "log_level": "info",/' "$TMP/up/tarsd/etc/tars/tarsd.json"
(cd "$TMP/up/tarsd" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb -b "$TMP/up/tarsd" "$TMP/up/tarsd_${VERSION}+up1.deb" >/dev/null 2>&1
DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confdef \
	-o Dpkg::Options::=--force-confold "$TMP/up/tarsd_${VERSION}+up1.deb" >"$TMP/upgrade.log" 2>&1
ok $? "an upgrade installs over the edited conffile" || diag "$(tail -n 10 "$TMP/upgrade.log")"
check "  keeping the operator's edit" grep -q "127.0.0.1:$FREE" /etc/tars/tarsd.json
check "  and writing the new one beside it as .dpkg-dist" grep -q '"log_level"' /etc/tars/tarsd.json.dpkg-dist
serve_installed
ok $? "  and the upgraded tarsd starts"
check "  resuming the agents from the state dir" grep -q "policy: resumed at step" "$TMP/svc.log"
stop_installed
DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall -o Dpkg::Options::=--force-confold \
	"$TMP/up/tarsd_${VERSION}+up1.deb" >"$TMP/reinstall.log" 2>&1
ok $? "a reinstall works" || diag "$(tail -n 10 "$TMP/reinstall.log")"
check "  and keeps the edit" grep -q "127.0.0.1:$FREE" /etc/tars/tarsd.json

# ---- remove keeps the state; purge takes it and the user
DEBIAN_FRONTEND=noninteractive apt-get remove -y $PKGS >"$TMP/remove.log" 2>&1
ok $? "apt-get remove" || diag "$(tail -n 10 "$TMP/remove.log")"
check "  keeps the state dir" test -f /var/lib/tars/data.mdb
check "  and the config" test -f /etc/tars/tarsd.json
check "  and the user" sh -c "getent passwd _tars >/dev/null"
check "  and takes the binaries" test ! -e /usr/sbin/tarsd
DEBIAN_FRONTEND=noninteractive apt-get purge -y $(known) >"$TMP/purge.log" 2>&1
ok $? "apt-get purge" || diag "$(tail -n 10 "$TMP/purge.log")"
check "  takes /var/lib/tars" test ! -e /var/lib/tars
check "  and /etc/tars" test ! -e /etc/tars
check "  and the user and group _tars" sh -c "! getent passwd _tars && ! getent group _tars"
userdel tarsop >/dev/null 2>&1
snapshot "$TMP/after"
diff "$TMP/before" "$TMP/after" >"$TMP/fs.diff"
check "nothing is left behind on the file system" test ! -s "$TMP/fs.diff" || diag "$(head -n 20 "$TMP/fs.diff")"
done_testing
