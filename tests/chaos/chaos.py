"""The chaos suite's shared pieces: a tarsd under test, HTTP clients, paced load, figures, TAP.

Python's standard library only (tests/chaos/README.md). Every scenario runs short by default
(a few seconds: `make check`) and in full with TARS_SOAK=1 (`make soak`).
"""
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TARS_BUILD", os.path.join(SRC, "build"))
TARSD = os.path.join(BUILD, "bin", "tarsd")
PLUGINS = os.path.join(BUILD, "lib", "tars", "plugins")
SOAK = os.environ.get("TARS_SOAK") == "1"
SANITIZED = bool(os.environ.get("TARS_SANITIZED"))

# The demo's four agents (packaging/demo.json) on two runners.
DEMO_AGENTS = [
    {"id": "policy", "agent": "dqn", "env": "cartpole", "preset": "cartpole", "seed": 1},
    {"id": "consensus", "agent": "a2c", "env": "cartpole", "preset": "cartpole", "seed": 2},
    {"id": "ethical", "agent": "ppo", "env": "acrobot", "preset": "acrobot", "seed": 3},
    {"id": "resource", "agent": "ddpg", "env": "pendulum", "preset": "pendulum", "seed": 4},
]


class Tap:
    """A TAP producer: ok/diag/done, as tests/tap.sh."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.lock = threading.Lock()

    def ok(self, cond, desc):
        with self.lock:
            self.n += 1
            if not cond:
                self.failed += 1
            print(("ok" if cond else "not ok") + " %d - %s" % (self.n, desc), flush=True)
        return cond

    def diag(self, *lines):
        for text in lines:
            for line in str(text).splitlines() or [""]:
                print("# " + line, flush=True)

    def figure(self, name, value, goal=None):
        """A measured figure, with the goal it is held against (said, never asserted)."""
        if goal is None:
            self.diag("figure: %s = %s" % (name, value))
        else:
            self.diag("figure: %s = %s (goal %s)" % (name, value, goal))

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 0 if self.failed == 0 else 1


def pct(values, p):
    """The p-th percentile (nearest rank) of values; None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def ms(seconds):
    return "n/a" if seconds is None else "%.1f ms" % (seconds * 1000.0)


class Daemon:
    """A `tarsd serve` on a free loopback port with a state dir of its own.

    wrap: a command prefix to run it under (the full-disk scenario's mount namespace).
    """

    def __init__(self, tmp, config, wrap=None):
        self.tmp = tmp
        self.state = os.path.join(tmp, "state")
        self.config_path = os.path.join(tmp, "tars.json")
        cfg = {
            "listen": "127.0.0.1:0",
            "state_dir": self.state,
            "manifest_dirs": [os.path.join(SRC, "manifests")],
            "plugin_dirs": [PLUGINS],
        }
        cfg.update(config)
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        self.wrap = wrap or []
        self.proc = None
        self.port = None
        self.log_path = os.path.join(tmp, "serve.log")
        self.starts = 0

    def start(self, timeout=60.0):
        self.starts += 1
        log = open(self.log_path, "a")
        log.write("--- start %d\n" % self.starts)
        log.flush()
        args = self.wrap + [TARSD, "serve", "--config", self.config_path, "--log-format", "json"]
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.time() + timeout
        mark = "--- start %d\n" % self.starts
        while time.time() < deadline:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
            text = text[text.rfind(mark):]
            m = re.search(r"\(port (\d+)\)", text)
            if m and os.path.exists(os.path.join(self.state, "admin.token")):
                self.port = int(m.group(1))
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    @property
    def token(self):
        with open(os.path.join(self.state, "admin.token")) as f:
            return f.read().strip()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=60.0):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def log_tail(self, n=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def inspect(self):
        """`tarsd inspect --json` of the state dir (read-only, safe while it runs)."""
        out = subprocess.run([TARSD, "inspect", "--state", self.state, "--json"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("tarsd inspect failed: " + out.stderr.strip())
        return json.loads(out.stdout)


class Client:
    """One keep-alive HTTP connection; reconnects when the server closed it."""

    def __init__(self, port, token=None, timeout=10.0):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def request(self, method, path, body=None, token=None, headers=None):
        """(status, headers dict, body bytes); status 0 and the error text on a failure."""
        tok = token if token is not None else self.token
        hdrs = dict(headers or {})
        if tok:
            hdrs["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                           timeout=self.timeout)
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, payload
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                self.close()
                # A keep-alive connection the server closed meanwhile: one retry on a new one.
                if attempt == 0 and isinstance(e, (http.client.RemoteDisconnected,
                                                   ConnectionResetError, BrokenPipeError)):
                    continue
                return 0, {}, str(e).encode()
        return 0, {}, b"unreachable"

    def json(self, method, path, body=None, token=None):
        st, _, payload = self.request(method, path, body, token)
        try:
            return st, json.loads(payload) if payload else None
        except ValueError:
            return st, None


def wait_health(port, timeout=30.0):
    c = Client(port, timeout=2.0)
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, _, _ = c.request("GET", "/api/v1/health")
        if st == 200:
            c.close()
            return True
        time.sleep(0.1)
    c.close()
    return False


class Sample:
    __slots__ = ("sched", "name", "status", "latency", "retry_after", "error")

    def __init__(self, sched, name, status, latency, retry_after, error):
        self.sched = sched
        self.name = name
        self.status = status
        self.latency = latency
        self.retry_after = retry_after
        self.error = error


def paced_load(port, phases, pick, workers=32, token=None, timeout=10.0):
    """Sends requests at a fixed rate per phase, open loop: latency counts from the moment each
    request was due, so a stalled server is not hidden by clients that waited for it.

    phases: [(rate per s, seconds)]; pick(rng) -> (name, method, path, body).
    Returns the samples, in the order they completed.
    """
    due = queue.Queue(maxsize=100000)
    samples = []
    lock = threading.Lock()
    t0 = time.monotonic() + 0.2

    def schedule():
        rng = random.Random(1)
        t = t0
        for rate, secs in phases:
            end = t + secs
            step = 1.0 / rate
            while t < end:
                due.put((t, pick(rng)))
                t += step
        for _ in range(workers):
            due.put(None)

    def work():
        c = Client(port, token, timeout)
        while True:
            item = due.get()
            if item is None:
                break
            at, (name, method, path, body) = item
            wait = at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            st, hdrs, payload = c.request(method, path, body)
            done = time.monotonic()
            s = Sample(at - t0, name, st, done - at, hdrs.get("retry-after"),
                       payload[:300] if st == 0 or st >= 500 else None)
            with lock:
                samples.append(s)
        c.close()

    threads = [threading.Thread(target=schedule)]
    threads += [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def summarize(tap, label, samples):
    """Figures of a load: count, statuses, p50/p95/p99/max latency."""
    lat = [s.latency for s in samples]
    statuses = {}
    for s in samples:
        statuses[s.status] = statuses.get(s.status, 0) + 1
    tap.figure(label + " requests", len(samples))
    tap.figure(label + " statuses", json.dumps(statuses, sort_keys=True))
    tap.figure(label + " latency p50/p95/p99/max", "%s / %s / %s / %s" % (
        ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)), ms(max(lat) if lat else None)))
    return statuses


def tempdir(name):
    return tempfile.mkdtemp(prefix="tars-chaos-%s-" % name, dir=os.environ.get("TMPDIR", "/tmp"))


def cleanup(tmp, *daemons):
    for d in daemons:
        if d and d.alive():
            d.kill9()
    shutil.rmtree(tmp, ignore_errors=True)


def first_hot_float(client, agent_id):
    """(name, lo, hi) of a HOT float parameter of the agent, for PATCH traffic."""
    st, p = client.json("GET", "/api/v1/agents/%s/params" % agent_id)
    if st != 200:
        return None
    for s in p["schema"]:
        if s["type"] == "float" and s.get("hot") and s["name"] in ("gamma", "learning_rate"):
            cur = p["params"][s["name"]]
            return s["name"], cur * 0.999, cur
    return None


def raw_exchange(port, data, timeout=10.0, read_all=True):
    """Sends raw bytes, returns what came back before the server closed or went quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, "timeout"
            except OSError:
                return out, "reset"
            if not chunk:
                return out, "closed"
            out += chunk
            if not read_all and b"\r\n\r\n" in out:
                return out, "partial"
    finally:
        s.close()


def main(run):
    tap = Tap()
    try:
        run(tap)
    except Exception as e:  # a scenario that broke is a failure, said in one line
        tap.ok(False, "the scenario ran to its end (%s: %s)" % (type(e).__name__, e))
    sys.exit(tap.done())
