#!/bin/sh
# tarsd serve under systemd's Type=notify (packaging/systemd/tarsd.service): with
# $NOTIFY_SOCKET set, the worker sends READY=1 once it serves (not when the process starts)
# and STOPPING=1 when asked to stop, over sd_notify(3)'s datagram protocol; an abstract
# socket name (@...) works as a path does. Without it, nothing is sent and nothing fails.
. "$(dirname "$0")/../tap.sh"

# listen SOCKET OUT: records each datagram on SOCKET (a path, or @name) as a line of OUT.
listen() {
	python3 -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + a[1:] if a.startswith("@") else a)
open(sys.argv[2] + ".up", "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n"); out.flush()' "$1" "$2" &
	LISTENER=$!
	_pids="$_pids $LISTENER"
	for _i in $(seq 50); do [ -e "$2.up" ] && return 0; sleep 0.1; done
	return 1
}
# got OUT TEXT: OUT has a datagram TEXT within 10 s
got() {
	for _i in $(seq 100); do grep -qx "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	diag "$1 holds:" "$(cat "$1" 2>/dev/null)"
	return 1
}

n=0
for sock in "$TMP/notify.sock" "@tars-notify-test-$$"; do
	n=$((n + 1))
	out=$TMP/notify.$n.out
	listen "$sock" "$out" || { echo "Bail out! cannot listen on $sock"; exit 1; }
	NOTIFY_SOCKET=$sock start_serve --listen 127.0.0.1:0 --state "$TMP/state"
	ok $? "tarsd serve starts with NOTIFY_SOCKET=$sock"
	check "  and says READY=1 once it serves" got "$out" "READY=1"
	kill -TERM "$SERVE_PID"
	wait_exit "$SERVE_PID"
	check "  and STOPPING=1 when asked to stop" got "$out" "STOPPING=1"
	check "  stopping cleanly ($EXIT_CODE)" test "$EXIT_CODE" = 0
	check "  having sent nothing else" test "$(wc -l <"$out")" = 2
	kill "$LISTENER"
done

start_serve --listen 127.0.0.1:0 --state "$TMP/state"
ok $? "without NOTIFY_SOCKET, tarsd serve starts as before"
check "  and says nothing about a service manager" sh -c "! grep -qi 'service manager' '$TMP/serve.log'"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
NOTIFY_SOCKET=relative/name start_serve --listen 127.0.0.1:0 --state "$TMP/state"
ok $? "a NOTIFY_SOCKET that is not a socket's name does not stop tarsd"
check "  which warns that it cannot tell the service manager" grep -q 'cannot tell the service manager' "$TMP/serve.log"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
done_testing
