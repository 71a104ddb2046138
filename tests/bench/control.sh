#!/bin/sh
# The control plane while training: the demo's four agents (packaging/demo.json: DQN and A2C
# on CartPole, PPO on Acrobot, DDPG on Pendulum) train on two runners while one client makes
# N calls (default 50) of each operation, one at a time, and times each reply:
#   GET an agent; PATCH a HOT parameter of the PPO agent (the server's time to publication,
#   the reply's publish_us, and the round trip); create an agent (PPO on CartPole) and delete
#   it; stop each demo agent (the reply comes once its final checkpoint is committed) and
#   start it again.
# Prints p50/p99/max per operation; asserts nothing. BENCH_N, BENCH_WARM_S (default 5: the
# training before the first call), TARS_BUILD (another build to compare) and BENCH_CONFIG
# (more config keys, e.g. '"http_nice": 0,') change the run.
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/bench/serve.lib"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tars-bench-XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
N=${BENCH_N:-50}
WARM=${BENCH_WARM_S:-5}
agents=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["agents"]))' \
	"$SRC/packaging/demo.json") || exit 1
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$B/lib/tars/plugins"], "runners": 2, "api_rate": 0, "api_address_rate": 0,
 ${BENCH_CONFIG:-} "agents": $agents}
JSON
serve_bench
sleep "$WARM"
echo "== Control plane while the demo's four agents train on two runners ($N calls each, one at a time; $B${BENCH_CONFIG:+; $BENCH_CONFIG})"
python3 - "$PORT" "$T" "$N" "$agents" <<'PY'
import http.client, json, sys, time
port, token, n, agents = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
def call(method, path, body=None):
    t0 = time.perf_counter()
    conn.request(method, "/api/v1" + path, body=json.dumps(body) if body is not None else None,
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t0) * 1e3
    if r.status >= 300:
        sys.exit("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return ms, json.loads(data)
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]
def show(name, v, unit="ms"):
    print("   %-36s p50 %9.3f %s  p99 %9.3f %s  max %9.3f %s" % (name, pct(v, .5), unit,
          pct(v, .99), unit, max(v), unit))
ppo = next(a["id"] for a in agents if a["agent"] == "ppo")
show("GET agent", [call("GET", "/agents/" + ppo)[0] for _ in range(n)])
pub, rtt = [], []
for i in range(n):
    ms, o = call("PATCH", "/agents/%s/params" % ppo, {"params": {"learning_rate": 3e-4 + i * 1e-7}})
    rtt.append(ms)
    pub.append(o["outcome"]["publish_us"])
show("PATCH HOT (PPO): published", pub, "us")
show("PATCH HOT (PPO): round trip", rtt)
create, delete = [], []
for i in range(n):
    spec = {"id": "extra-%d" % i, "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": i}
    create.append(call("POST", "/agents", spec)[0])
    delete.append(call("DELETE", "/agents/extra-%d" % i)[0])
show("create (PPO on CartPole)", create)
show("delete", delete)
start = []
for a in agents:
    stop = []
    for i in range(n):
        stop.append(call("POST", "/agents/%s/stop" % a["id"])[0])
        start.append(call("POST", "/agents/%s/start" % a["id"])[0])
    steps = call("GET", "/agents/" + a["id"])[1]["steps"]
    show("stop %s (%s, at %d steps)" % (a["id"], a["agent"], steps), stop)
show("start (all four)", start)
PY
kill -TERM $PID
wait $PID 2>/dev/null
PID=
