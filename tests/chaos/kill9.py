"""kill -9 at random moments while the demo's four agents train and clients read and write.

After every kill: the store opens clean (`mdb_stat -a`, `tarsd inspect`); at the next start
every write the API acknowledged is there (tokens and agents created, the last parameter value
acknowledged, or a later one still in flight), and every agent resumed at or after the step of
its last checkpoint. 100 kills in full (TARS_SOAK=1), 5 short.
"""
import os
import random
import shutil
import subprocess
import threading
import time

import chaos

KILLS = int(os.environ.get("KILL9_COUNT", "100" if chaos.SOAK else "5"))
STRETCH = 2.0 if chaos.SANITIZED else 1.0


class Writer(threading.Thread):
    """Acknowledged writes under load: token and agent creations, HOT parameter changes."""

    def __init__(self, port, token, round_no, acked, lock):
        super().__init__()
        self.c = chaos.Client(port, token, timeout=5.0)
        self.reader = chaos.Client(port, token, timeout=5.0)
        self.round = round_no
        self.acked = acked
        self.lock = lock
        self.stop = threading.Event()

    def run(self):
        rng = random.Random(self.round)
        n = 0
        while not self.stop.is_set():
            n += 1
            r = rng.random()
            if r < 0.4:
                name = "k%d-%d" % (self.round, n)
                st, _ = self.c.json("POST", "/api/v1/tokens", {"name": name, "role": "viewer"})
                if st == 201:
                    with self.lock:
                        self.acked["tokens"].add(name)
            elif r < 0.5 and n < 4:
                aid = "r%d-%d" % (self.round, n)
                st, _ = self.c.json("POST", "/api/v1/agents", {
                    "id": aid, "agent": "random", "env": "cartpole", "n_envs": 1, "seed": n})
                if st == 201:
                    with self.lock:
                        self.acked["agents"].add(aid)
            elif r < 0.8:
                a = rng.choice(["policy", "consensus", "ethical", "resource"])
                v = round(rng.uniform(0.95, 0.999), 6)
                with self.lock:
                    self.acked["params"].setdefault(a, []).append([v, False])
                    entry = self.acked["params"][a][-1]
                st, _ = self.c.json("PATCH", "/api/v1/agents/%s/params" % a,
                                    {"params": {"gamma": v}})
                if st == 200:
                    with self.lock:
                        entry[1] = True
            else:
                self.reader.request("GET", rng.choice(["/api/v1/agents", "/api/v1/audit",
                                                       "/api/v1/agents/policy/history?tail=50"]))
        self.c.close()
        self.reader.close()


def gamma_ok(history, value):
    """value is the last acknowledged one, or one sent after it (in flight at the kill)."""
    last = max((i for i, (_, ack) in enumerate(history) if ack), default=None)
    if last is None:
        return True
    return any(abs(v - value) < 1e-9 for v, _ in history[last:])


def verify_restart(tap, d, acked, checkpoints, problems):
    c = chaos.Client(d.port, d.token, timeout=10.0)
    st, tokens = c.json("GET", "/api/v1/tokens")
    names = {t["name"] for t in tokens["tokens"]} if st == 200 else set()
    lost = acked["tokens"] - names
    if lost:
        problems.append("acknowledged tokens lost: %s" % sorted(lost)[:5])
    st, agents = c.json("GET", "/api/v1/agents")
    live = {a["id"]: a for a in agents["agents"]} if st == 200 else {}
    lost = acked["agents"] - set(live)
    if lost:
        problems.append("acknowledged agents lost: %s" % sorted(lost))
    for a, history in acked["params"].items():
        st, p = c.json("GET", "/api/v1/agents/%s/params" % a)
        if st == 200 and not gamma_ok(history, p["params"]["gamma"]):
            problems.append("%s: gamma %s is neither the last acknowledged nor a later one (%s)" %
                            (a, p["params"]["gamma"], history[-3:]))
    for a, step in checkpoints.items():
        if a in live and live[a]["steps"] < step:
            problems.append("%s resumed at %d steps, below its checkpoint at %d" %
                            (a, live[a]["steps"], step))
    c.close()


def check_store(d, problems, i):
    if shutil.which("mdb_stat"):
        out = subprocess.run(["mdb_stat", "-a", d.state], capture_output=True, text=True)
        if out.returncode != 0:
            problems.append("kill %d: mdb_stat failed: %s" % (i, out.stderr.strip()[:200]))
    try:
        return {a["id"]: a["steps"] for a in d.inspect()["agents"]}
    except (RuntimeError, ValueError, KeyError) as e:
        problems.append("kill %d: the store does not open: %s" % (i, e))
        return {}


def run(tap):
    tmp = chaos.tempdir("kill9")
    d = chaos.Daemon(tmp, {"runners": 2, "checkpoint_every_s": 0.3, "api_rate": 0,
                           "api_address_rate": 0, "agents": chaos.DEMO_AGENTS})
    acked = {"tokens": set(), "agents": set(), "params": {}}
    lock = threading.Lock()
    problems, checkpoints = [], {}
    rng = random.Random(7)
    try:
        for i in range(1, KILLS + 1):
            if not d.start():
                problems.append("start %d failed: %s" % (i, d.log_tail(5)))
                break
            if i > 1:
                verify_restart(tap, d, acked, checkpoints, problems)
            w = Writer(d.port, d.token, i, acked, lock)
            w.start()
            time.sleep(rng.uniform(0.3, 1.5) * STRETCH)
            d.kill9()
            w.stop.set()
            w.join()
            checkpoints = check_store(d, problems, i)
        tap.figure("kill -9", "%d kills; %d tokens, %d agents and %d parameter changes "
                   "acknowledged" % (KILLS, len(acked["tokens"]), len(acked["agents"]),
                                     sum(sum(1 for _, a in h if a)
                                         for h in acked["params"].values())))
        if d.start():
            verify_restart(tap, d, acked, checkpoints, problems)
            tap.ok(d.stop() == 0, "the last start stops cleanly on SIGTERM")
        else:
            problems.append("the final start failed")
        for p in problems[:15]:
            tap.diag(p)
        tap.ok(not problems, "%d kills -9 under load: 0 corrupted stores, 0 acknowledged writes "
               "lost, every agent resumed at or after its checkpoint" % KILLS)
        tap.ok(len(acked["tokens"]) > 0 and any(acked["params"].values()),
               "the kills landed under write load")
    finally:
        chaos.cleanup(tmp, d)


if __name__ == "__main__":
    chaos.main(run)
