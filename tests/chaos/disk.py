"""A full disk and back, under load: the state dir is a small tmpfs in a private mount namespace
(disk.sh runs this under `unshare -m`); agents train and clients read and write while a filler
file takes every free byte; then the filler goes.

While full: every read is answered (no 5xx), health says degraded, memory stays bounded.
After: health is ok again with no restart, writes are acknowledged again, checkpoints go on.
Full: 60 s on a full disk (TARS_SOAK=1); short: 3 s.
"""
import os
import subprocess
import threading
import time

import chaos

FULL_S = 60 if chaos.SOAK else 3


def worker_of(pid):
    """The supervised worker of tarsd serve's parent pid: its child named tarsd (which maps
    the plugins, runs the threads and holds the memory); pid itself if it has none."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and comm == "tarsd":
            return int(d)
    return pid


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fill(path):
    """Writes until the file system refuses; returns the bytes written."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        block = b"\0" * 65536
        while True:
            try:
                n += f.write(block)
            except OSError:
                break
        for size in (4096, 512, 1):
            try:
                while True:
                    n += f.write(b"\0" * size)
            except OSError:
                pass
    return n


class Load(threading.Thread):
    def __init__(self, port, token):
        super().__init__()
        self.c = chaos.Client(port, token, timeout=10.0)
        self.stop = threading.Event()
        self.reads, self.read_errors, self.writes = 0, [], {}

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            path = ["/api/v1/agents", "/api/v1/agents/ethical", "/api/v1/health",
                    "/api/v1/agents/ethical/history?tail=20"][i % 4]
            st, _, body = self.c.request("GET", path)
            self.reads += 1
            if st != 200 and not (path == "/api/v1/health" and st == 503):
                self.read_errors.append((path, st, body[:200]))
            if i % 5 == 0:
                st, _, _ = self.c.request("PATCH", "/api/v1/agents/ethical/params",
                                          {"params": {"gamma": 0.99 - (i % 7) * 0.001}})
                self.writes[st] = self.writes.get(st, 0) + 1
            time.sleep(0.01)
        self.c.close()


def health(c):
    st, h = c.json("GET", "/api/v1/health")
    return h.get("status") if isinstance(h, dict) else "unreachable (%d)" % st


def run(tap):
    tmp = chaos.tempdir("disk")
    state = os.path.join(tmp, "state")
    os.mkdir(state)
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", state],
                         capture_output=True, text=True)
    if out.returncode != 0:
        tap.ok(False, "a tmpfs for the state dir can be mounted (%s)" % out.stderr.strip())
        return
    # A bounded history, so that once the filler is gone the store fits in what it leaves.
    d = chaos.Daemon(tmp, {"runners": 2, "checkpoint_every_s": 0.5, "api_rate": 0,
                           "api_address_rate": 0, "history_kept": 5000,
                           "agents": [{"id": "ethical", "agent": "ppo", "env": "cartpole",
                                       "seed": 3},
                                      {"id": "consensus", "agent": "a2c", "env": "cartpole",
                                       "seed": 1},
                                      # thousands of episodes a second: the backlog's load
                                      {"id": "policy", "agent": "random", "env": "cartpole",
                                       "n_envs": 2, "seed": 2}]})
    try:
        if not tap.ok(d.start(), "tarsd serve starts on a 128 MiB tmpfs"):
            tap.diag(d.log_tail())
            return
        c = chaos.Client(d.port, d.token)
        load = Load(d.port, d.token)
        load.start()
        time.sleep(1.5)
        worker = worker_of(d.proc.pid)
        rss_before = rss_kb(worker)
        filled = fill(os.path.join(state, "filler"))
        tap.figure("filler", "%d KiB, the file system is full" % (filled // 1024))
        peak, states = rss_before, set()
        t_end = time.time() + FULL_S
        while time.time() < t_end:
            peak = max(peak, rss_kb(worker))
            states.add(health(c))
            time.sleep(0.2)
        tap.ok("degraded" in states, "health says degraded while the disk is full (%s)" %
               ", ".join(sorted(states)))
        tap.figure("RSS before / peak while full", "%d / %d KiB over %d s" % (
            rss_before, peak, FULL_S))
        _, detail = c.json("GET", "/api/v1/health")
        # What the writer may hold (its backlog cap, said by health), and room for the rest.
        cap_kb = ((detail or {}).get("state") or {}).get("backlog_limit_bytes", 32 << 20) // 1024
        tap.ok(peak < rss_before + cap_kb + 64 * 1024, "memory stays bounded while the disk is "
               "full (peak %d KiB, %d KiB before, a backlog cap of %d KiB)" % (
                   peak, rss_before, cap_kb))
        tap.diag("health while full: %s" % detail)
        os.unlink(os.path.join(state, "filler"))
        t0 = time.time()
        recovered = None
        while time.time() < t0 + 30:
            if health(c) == "ok":
                recovered = time.time() - t0
                break
            time.sleep(0.1)
        tap.ok(recovered is not None, "health is ok again once the disk has room, no restart")
        tap.figure("recovery", "%.1f s from the filler's removal to health ok" % (
            recovered if recovered is not None else -1))
        # The first write may still meet the backlog draining; within seconds one is acknowledged.
        for _ in range(50):
            st, _ = c.json("PATCH", "/api/v1/agents/ethical/params", {"params": {"gamma": 0.98}})
            if st == 200:
                break
            time.sleep(0.2)
        tap.ok(st == 200, "a write is acknowledged again after the disk recovered (%d)" % st)
        if st != 200:
            tap.diag("last refusal: %s; health: %s" % (c.request("PATCH", "/api/v1/agents/ethical/params", {"params": {"gamma": 0.98}})[2][:300], c.json("GET", "/api/v1/health")[1]))
        ck0 = (c.json("GET", "/api/v1/agents/ethical")[1] or {}).get("checkpoint_step") or 0
        ck1 = ck0
        for _ in range(100):
            ck1 = (c.json("GET", "/api/v1/agents/ethical")[1] or {}).get("checkpoint_step") or 0
            if ck1 > ck0:
                break
            time.sleep(0.1)
        tap.ok(ck1 > ck0, "checkpoints go on after the disk recovered (%s -> %s)" % (ck0, ck1))
        load.stop.set()
        load.join()
        tap.figure("load", "%d reads, writes by status %s" % (load.reads, load.writes))
        tap.ok(not load.read_errors, "every read was answered while full and after (%d errors)" %
               len(load.read_errors))
        for e in load.read_errors[:5]:
            tap.diag("  %r" % (e,))
        bad = {s: n for s, n in load.writes.items() if s == 0}
        tap.ok(not bad, "every write got an answer, acknowledged or refused (%s)" % load.writes)
        c.close()
        # tarsd exits 1 after a run in which state writes failed, and says so (docs/state.md).
        tap.ok(d.stop() in (0, 1), "tarsd stops on SIGTERM")
    finally:
        if d.alive():
            d.kill9()
        subprocess.run(["umount", "-l", state], capture_output=True)
        chaos.cleanup(tmp)


if __name__ == "__main__":
    chaos.main(run)
