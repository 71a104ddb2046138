#!/bin/sh
# Bad input everywhere gets one clear line on stderr and a non-zero exit.
. "$(dirname "$0")/../tap.sh"

# fails NAME EXPECTED-TEXT COMMAND...: the command exits non-zero with exactly one line of
# stderr that contains the text.
fails() {
	_name=$1
	_want=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	_rc=$?
	check "$_name: exits non-zero" test "$_rc" -ne 0
	check "$_name: one line" one_line "$TMP/err"
	check "$_name: says '$_want'" contains "$TMP/err" "$_want"
}

T="$TARSD train --manifests $SRC/manifests --plugins $PLUGINS"

printf '{"listen": "127.0.0.1:0",\n  "runners": }\n' >"$TMP/syntax.json"
fails "config syntax error" "tarsd: $TMP/syntax.json:2:14: unexpected token near '}'" \
	"$TARSD" serve --config "$TMP/syntax.json"
printf '{"listen": "127.0.0.1:0",\n  "colour": "blue"}\n' >"$TMP/unknown.json"
fails "config unknown key" "$TMP/unknown.json:2:3: unknown key 'colour'" \
	"$TARSD" check --config "$TMP/unknown.json"
fails "missing config file" "tarsd: $TMP/none.json: cannot open: No such file or directory" \
	"$TARSD" serve --config "$TMP/none.json"

fails "unknown agent in train" "tarsd: unknown agent 'nosuch' (available: a2c, ddpg, dqn, ppo, random)" \
	$T --agent nosuch --env cartpole --steps 10
fails "unknown env in train" "tarsd: unknown env 'nosuch' (available: acrobot, cartpole, mountaincar-continuous, mountaincar, pendulum)" \
	$T --agent random --env nosuch --steps 10
fails "plugin of the wrong kind" "tarsd: 'cartpole' is a plugin of kind 'env', not 'agent'" \
	$T --agent cartpole --env cartpole --steps 10
printf '{"listen": "127.0.0.1:0", "state_dir": "s",\n "agents": [{"id": "a", "agent": "random", "env": "pong"}]}\n' >"$TMP/badenv.json"
fails "unknown plugin in a config" "tarsd: $TMP/badenv.json:2:51: unknown env 'pong' (available: acrobot, cartpole, mountaincar-continuous, mountaincar, pendulum)" \
	"$TARSD" serve --config "$TMP/badenv.json"

fails "--set unknown parameter" \
	"tarsd: --set gamma=0.9: agent 'random': unknown parameter 'gamma' (known: sticky)" \
	$T --agent random --env cartpole --set gamma=0.9
fails "--set out of range" \
	"tarsd: --set sticky=2: agent 'random': parameter 'sticky' = 2 is out of range [0, 1]" \
	$T --agent random --env cartpole --set sticky=2
fails "--set env parameter out of range" \
	"parameter 'max_episode_steps' = 0 is out of range [1, 10000000]" \
	$T --agent random --env cartpole --set env.max_episode_steps=0
fails "--set without =" "tarsd: --set needs KEY=VALUE, not 'sticky'" \
	$T --agent random --env cartpole --set sticky
printf '{"listen": "127.0.0.1:0", "state_dir": "s",\n "agents": [{"id": "a", "agent": "random", "env": "cartpole",\n  "params": {"sticky": 1.5}}]}\n' >"$TMP/badparam.json"
fails "out-of-range parameter in a config" \
	"tarsd: $TMP/badparam.json:3:24: parameter 'sticky' = 1.5 is out of range [0, 1]" \
	"$TARSD" serve --config "$TMP/badparam.json"

fails "plugin dir that does not exist (train)" "tarsd: plugin dir '$TMP/nodir' does not exist" \
	"$TARSD" train --plugins "$TMP/nodir" --agent random --env cartpole
fails "plugin dir that does not exist (serve)" "tarsd: plugin dir '$TMP/nodir' does not exist" \
	"$TARSD" serve --plugins "$TMP/nodir"
fails "manifest dir that does not exist" "manifest dir '$TMP/nodir' does not exist" \
	"$TARSD" check --manifests "$TMP/nodir"

start_serve --listen 127.0.0.1:0 --state "$TMP/s1"
ok $? "a first daemon listens"
fails "port already in use" "tarsd: cannot listen on 127.0.0.1:$PORT: Address already in use" \
	"$TARSD" serve --listen "127.0.0.1:$PORT" --state "$TMP/s2"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
fails "a listen address without a port" "tarsd: listen address 'localhost' is not IPV4:PORT or [IPV6]:PORT" \
	"$TARSD" serve --listen localhost --state "$TMP/s3"

fails "an empty --state" "tarsd: --state needs a non-empty value" "$TARSD" serve --state ""
printf '{"listen": "127.0.0.1:0",\n  "col\\nour": 1}\n' >"$TMP/newline.json"
fails "a newline inside a config key stays on one line" "$TMP/newline.json:2:3: unknown key 'col\\nour'" \
	"$TARSD" check --config "$TMP/newline.json"
mkdir "$TMP/fifo" && mkfifo "$TMP/fifo/x.json"
fails "a FIFO among the manifests is refused, not read" "$TMP/fifo/x.json: not a regular file" \
	"$TARSD" check --manifests "$TMP/fifo" --plugins "$PLUGINS"

fails "unknown command" "tarsd: unknown command 'trian' (expected serve, check, train or inspect)" \
	"$TARSD" trian
fails "unknown option" "tarsd: unknown option '--colour' (see tarsd --help)" "$TARSD" serve --colour
fails "train option on serve" "tarsd: --steps is only for 'tarsd train'" "$TARSD" serve --steps 5
fails "bad number" "tarsd: --steps needs a whole number in [0, 1000000000000000], not 'lots'" \
	$T --agent random --env cartpole --steps lots
fails "train without an agent" "tarsd: train needs --agent NAME and --env NAME" "$TARSD" train

done_testing
