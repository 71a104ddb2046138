#!/bin/sh
# The log never blocks a runner: tarsd serve's stderr is a pipe that nobody reads for a while
# (a stalled log shipper), with an agent that logs at every step. Runners, sharing one thread
# with it, go on training; the API answers; once the pipe is read again, the log says how many
# lines it dropped.
. "$(dirname "$0")/../tap.sh"
echo "1..7"
# The test agent is built with the tests; an older build tree may lack it (then: this one's).
CHATTY=$B/tests/plugins/chattyagent.so
[ -f "$CHATTY" ] || CHATTY=$SRC/build/tests/plugins/chattyagent.so
mkdir "$TMP/m"
"$TARSCTL" plugin manifest "$CHATTY" -o "$TMP/m/chattyagent.json" >/dev/null 2>&1
ok $? "a manifest for the chatty agent"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests", "m"],
 "plugin_dirs": ["$PLUGINS", "$(dirname "$CHATTY")"], "runners": 1, "api_rate": 0,
 "api_address_rate": 0,
 "agents": [{"id": "chatty", "agent": "chattyagent", "env": "cartpole", "n_envs": 1},
            {"id": "quiet", "agent": "random", "env": "cartpole", "n_envs": 1, "seed": 2}]}
JSON
python3 - "$TARSD" "$TMP" >"$TMP/result" 2>"$TMP/py.err" <<'PY'
import json, os, re, select, signal, subprocess, sys, time, urllib.request
tarsd, tmp = sys.argv[1], sys.argv[2]
r, w = os.pipe()
env = dict(os.environ)
if env.get("TARS_SANITIZED"):
    # A sanitizer writes to stderr itself (ASan warns of every switch to a handler's own stack,
    # bigstack.h), and would block on the stalled pipe: its reports go to files, checked below.
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS"):
        env[k] = env.get(k, "") + ":log_path=" + tmp + "/sanitizer"
p = subprocess.Popen([tarsd, "serve", "--log-format", "json", "--config", tmp + "/tars.json"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=w, cwd=tmp, env=env)
os.close(w)
out = {}
def read_some(deadline, want=None):
    buf = b""
    while time.time() < deadline:
        ready, _, _ = select.select([r], [], [], 0.2)
        if ready:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            buf += chunk
            if want and re.search(want, buf):
                break
    return buf
head = read_some(time.time() + 30, rb"\(port (\d+)\)")
m = re.search(rb"\(port (\d+)\)", head)
port = int(m.group(1)) if m else 0
token = ""
for _ in range(100):
    try:
        token = open(tmp + "/state/admin.token").read().strip()
        break
    except OSError:
        time.sleep(0.1)
def steps(agent):
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1/agents/%s" % (port, agent),
                                 headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as f:
            return json.load(f)["steps"]
    except Exception as e:
        print("GET %s: %s" % (agent, e), file=sys.stderr)
        return None
# Nobody reads stderr now: the pipe fills within a few hundred steps.
time.sleep(3)
s1 = steps("quiet")
time.sleep(3)
s2 = steps("quiet")
out["answers"] = s1 is not None and s2 is not None
out["trains"] = out["answers"] and s2 > s1
# Reading again: the writer catches up and says what it dropped.
tail = read_some(time.time() + 30, rb"log lines? dropped")
out["dropped_said"] = re.search(rb"\d+ log lines? dropped", tail) is not None
p.send_signal(signal.SIGTERM)
drain_until = time.time() + 30
while p.poll() is None and time.time() < drain_until:
    read_some(time.time() + 0.5)
out["exits"] = p.poll() == 0
if p.poll() is None:
    p.kill()
reports = ""
for name in os.listdir(tmp):
    if name.startswith("sanitizer"):
        reports += open(os.path.join(tmp, name), errors="replace").read()
out["sanitizers_clean"] = re.search(r"ERROR: |WARNING: ThreadSanitizer|runtime error", reports) is None
if not out["sanitizers_clean"]:
    print(reports[:3000], file=sys.stderr)
print(json.dumps(out))
PY
res=$(cat "$TMP/result")
check() { echo "$res" | grep -q "\"$1\": true"; }
check answers
ok $? "the API answers while nobody reads the log"
check trains
ok $? "  and the runner that shares a thread with the chatty agent trains on"
check dropped_said
ok $? "once the log is read again, it says how many lines it dropped"
check exits
ok $? "tarsd stops cleanly (exit 0) on SIGTERM"
check sanitizers_clean
ok $? "  with no sanitizer report (under a sanitized build)"
[ -s "$TMP/py.err" ] && sed 's/^/# /' "$TMP/py.err"
test -n "$res"
ok $? "the harness ran (python3)"
exit $((_failed > 0))
