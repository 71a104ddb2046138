"""Load scenarios against a tarsd whose four demo agents train (tests/chaos/README.md).

  sustained  mixed routes at 100 requests/s (10 min in full, 6 s short): 0 errors;
             figures p95 (goal < 50 ms) and p99 (goal < 100 ms)
  spike      50 -> 500 -> 50 requests/s against a per-address limit of 300/s: 0 5xx, 429 only
             in the spike and only as far as the limit says, each with Retry-After
  signin     200 concurrent clients, each signing in (whoami) once a second on a new connection: 0 errors;
             figure p95 (goal < 10 ms)

Usage: load.py sustained|spike|signin   (TARS_SOAK=1 for the full length)
"""
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

import chaos

SCALE = 1.0 if not chaos.SANITIZED else 0.2  # sanitizer builds serve 3-10x slower


def mixed_pick(agents, hot):
    """Reads of every kind a dashboard makes, and a HOT parameter change now and then."""
    reads = [
        (10, "health", "/api/v1/health"),
        (15, "agents", "/api/v1/agents"),
        (25, "agent", "/api/v1/agents/%s"),
        (10, "history", "/api/v1/agents/%s/history?tail=100"),
        (10, "params", "/api/v1/agents/%s/params"),
        (10, "whoami", "/api/v1/whoami"),
        (5, "audit", "/api/v1/audit?limit=20"),
        (5, "plugins", "/api/v1/plugins"),
        (5, "scalars", "/api/v1/agents/%s/scalars?tail=50"),
    ]
    total = sum(w for w, _, _ in reads) + 5

    def pick(rng):
        a = rng.choice(agents)
        r = rng.uniform(0, total)
        for w, name, path in reads:
            if r < w:
                return name, "GET", path % a if "%s" in path else path, None
            r -= w
        name, lo, hi = hot[a]
        return "patch", "PATCH", "/api/v1/agents/%s/params" % a, {
            "params": {name: rng.choice((lo, hi))}}

    return pick


def demo_daemon(tap, name, extra):
    tmp = chaos.tempdir(name)
    cfg = {"runners": 2, "agents": chaos.DEMO_AGENTS, "checkpoint_every_s": 30}
    cfg.update(extra)
    d = chaos.Daemon(tmp, cfg)
    if not tap.ok(d.start(), "tarsd serve starts with the demo's four agents"):
        tap.diag(d.log_tail())
        chaos.cleanup(tmp, d)
        return None, tmp
    return d, tmp


def hot_params(d):
    """The demo agents' ids, and a HOT float parameter of each for the PATCH traffic."""
    c = chaos.Client(d.port, d.token)
    agents = [a["id"] for a in chaos.DEMO_AGENTS]
    hot = {a: chaos.first_hot_float(c, a) for a in agents}
    c.close()
    return agents, hot


def sustained(tap):
    d, tmp = demo_daemon(tap, "sustained", {"api_rate": 0, "api_address_rate": 0})
    if not d:
        return
    try:
        agents, hot = hot_params(d)
        tap.ok(all(hot.values()), "each demo agent has a HOT float parameter to change")
        time.sleep(1.0)  # past the agents' start
        secs = 600 if chaos.SOAK else 6
        rate = 100 if chaos.SOAK else max(20, int(100 * SCALE))
        # Fewer connections than CivetWeb has workers: each worker serves one keep-alive
        # connection at a time (docs/admin-guide.md, "Threads").
        samples = chaos.paced_load(d.port, [(rate, secs)], mixed_pick(agents, hot),
                                   workers=12, token=d.token)
        st = chaos.summarize(tap, "sustained %d/s for %d s" % (rate, secs), samples)
        errors = [s for s in samples if not 200 <= s.status < 300]
        tap.ok(not errors, "every request of the sustained load succeeded (%d errors)" % len(errors))
        for s in errors[:5]:
            tap.diag("  %s -> %d %r" % (s.name, s.status, s.error))
        lat = [s.latency for s in samples]
        tap.figure("sustained p95", chaos.ms(chaos.pct(lat, 95)), "< 50 ms")
        tap.figure("sustained p99", chaos.ms(chaos.pct(lat, 99)), "< 100 ms")
        for name in sorted({s.name for s in samples}):
            ls = [s.latency for s in samples if s.name == name]
            tap.figure("  %s p99" % name, chaos.ms(chaos.pct(ls, 99)))
        c = chaos.Client(d.port, d.token)
        _, agents_now = c.json("GET", "/api/v1/agents")
        c.close()
        running = [a["id"] for a in agents_now["agents"] if a["state"] == "running"]
        tap.ok(len(running) == 4, "the four agents still train (%s)" % ", ".join(running))
        tap.ok(st.get(200, 0) > 0 and d.alive(), "tarsd is alive after the load")
    finally:
        chaos.cleanup(tmp, d)


def spike(tap):
    limit, burst = 300, 300
    d, tmp = demo_daemon(tap, "spike", {"api_rate": 0, "api_address_rate": limit,
                                        "api_address_burst": burst, "http_threads": 64})
    if not d:
        return
    try:
        agents, hot = hot_params(d)
        secs = 60 if chaos.SOAK else 2
        low, high = 50, 500
        phases = [(low, secs), (high, secs), (low, secs)]
        samples = chaos.paced_load(d.port, phases, mixed_pick(agents, hot), workers=48,
                                   token=d.token)
        chaos.summarize(tap, "spike %d -> %d -> %d/s, %d s each" % (low, high, low, secs), samples)
        fivexx = [s for s in samples if s.status >= 500 or s.status == 0]
        tap.ok(not fivexx, "no 5xx and no failed connection in the spike (%d)" % len(fivexx))
        for s in fivexx[:5]:
            tap.diag("  %s -> %d %r" % (s.name, s.status, s.error))
        # A request due in a 50/s phase finds a bucket that refills six times faster than it
        # drains: it is never refused. Requests due at the spike's end may be served late;
        # half a second of grace covers them.
        calm = [s for s in samples if s.status == 429 and
                (s.sched < secs or s.sched > 2 * secs + 0.5)]
        tap.ok(not calm, "no 429 outside the spike (%d)" % len(calm))
        in_spike = [s for s in samples if secs <= s.sched <= 2 * secs + 0.5]
        served = sum(1 for s in in_spike if s.status != 429)
        allowed = limit * (secs + 0.5) + burst
        tap.ok(served <= allowed * 1.1,
               "in the spike at most the limit is served (%d served, limit allows %d)" %
               (served, allowed))
        refused = [s for s in samples if s.status == 429]
        tap.figure("spike 429s", len(refused))
        tap.ok(all(s.retry_after for s in refused), "every 429 says Retry-After")
        tap.ok(d.alive(), "tarsd is alive after the spike")
    finally:
        chaos.cleanup(tmp, d)


def signin(tap):
    """200 clients at once, each signing in once a second on a new connection (as a browser
    tab does), phases spread at random: 200 sign-ins/s, latency counted from when each was due."""
    n_clients = 200
    d, tmp = demo_daemon(tap, "signin", {"api_rate": 0, "api_address_rate": 0,
                                         "http_threads": 64})
    if not d:
        return
    try:
        secs = 60 if chaos.SOAK else 4
        lat, errors = [], []
        lock = threading.Lock()
        start = time.monotonic() + 0.5

        def client(i):
            rng = random.Random(i)
            due = start + rng.random()
            while due < start + secs:
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                c = chaos.Client(d.port, d.token)
                st, _, body = c.request("GET", "/api/v1/whoami", headers={"Connection": "close"})
                el = time.monotonic() - due
                c.close()
                with lock:
                    lat.append(el)
                    if st != 200:
                        errors.append((st, body[:200]))
                due += 1.0

        threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        tap.figure("signin: %d clients, one sign-in each per second, %d s" % (n_clients, secs),
                   "%d sign-ins" % len(lat))
        tap.figure("signin whoami p50 / p95 / p99", "%s / %s / %s" % (
            chaos.ms(chaos.pct(lat, 50)), chaos.ms(chaos.pct(lat, 95)),
            chaos.ms(chaos.pct(lat, 99))), "p95 < 10 ms")
        tap.ok(len(lat) >= n_clients * (secs - 1) and not errors,
               "every sign-in of %d concurrent clients succeeded (%d errors)" %
               (n_clients, len(errors)))
        for e in errors[:5]:
            tap.diag("  %r" % (e,))
        wrk_signin(tap, d, n_clients)
        tap.ok(d.alive(), "tarsd is alive after the sign-ins")
    finally:
        chaos.cleanup(tmp, d)


def wrk_signin(tap, d, n_clients):
    """Throughput: wrk's 200 connections signing in back to back, each on a new connection.
    (wrk counts the server's close after each reply as a read error: those are not errors.)"""
    if not shutil.which("wrk"):
        tap.ok(False, "wrk is installed (packaging/deps.sh test installs it)")
        return
    secs = 60 if chaos.SOAK else 3
    out = subprocess.run(
        ["wrk", "-t2", "-c%d" % n_clients, "-d%ds" % secs, "-s",
         os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_report.lua"),
         "-H", "Connection: close", "-H", "Authorization: Bearer " + d.token,
         "http://127.0.0.1:%d/api/v1/whoami" % d.port], capture_output=True, text=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0 or not line:
        tap.ok(False, "wrk ran (%s)" % out.stderr.strip())
        return
    r = json.loads(line[-1])
    tap.figure("signin throughput (wrk, %d connections back to back, %d s)" % (n_clients, secs),
               "%.0f sign-ins/s, p50 %.1f ms, p99 %.1f ms" % (
                   r["requests"] / secs, r["p50_us"] / 1e3, r["p99_us"] / 1e3))
    errors = r["connect"] + r["write"] + r["status"] + r["timeout"]
    tap.ok(errors == 0, "wrk's sign-ins had no error (%s)" % json.dumps(r))


if __name__ == "__main__":
    scenarios = {"sustained": sustained, "spike": spike, "signin": signin}
    if len(sys.argv) != 2 or sys.argv[1] not in scenarios:
        sys.exit("usage: load.py sustained|spike|signin")
    chaos.main(scenarios[sys.argv[1]])
