"""The request-mutation fuzzer: every route of docs/openapi.json, with mutated paths, queries,
headers, bodies and tokens, malformed raw requests, and WebSocket frames on the stream.

Goal: 0 crashes, 0 5xx, 0 hangs (a request that gets neither a reply nor a close within the
timeout). 20,000 requests in full (TARS_SOAK=1), 600 short. Deterministic for a seed:
NETFUZZ_SEED=N replays a run.
"""
import json
import os
import random
import socket
import struct
import time

import chaos

SEED = int(os.environ.get("NETFUZZ_SEED", "1"))
COUNT = int(os.environ.get("NETFUZZ_COUNT", "20000" if chaos.SOAK else "600"))
TIMEOUT = 30.0 if chaos.SANITIZED else 10.0

WEIRD = ["", ".", "..", "%00", "%FF", "%2e%2e", "a" * 300, "\u00e9" * 60, "%C3", "-1",
         "18446744073709551616", "0", "policy%00.css", "..%2f..%2fetc%2fpasswd", "%", "%zz",
         "{id}", "null", " ", "\t", "\\x00", "\U0001F600", "a/b", "%2F", "A" * 5000]


def routes():
    with open(os.path.join(chaos.SRC, "docs", "openapi.json")) as f:
        doc = json.load(f)
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method in ("get", "post", "patch", "delete", "put"):
                query = [p["name"] for p in op.get("parameters", [])
                         if isinstance(p, dict) and p.get("in") == "query"]
                out.append((method.upper(), path, "requestBody" in op, query))
    return out


def rand_json(rng, depth=0):
    r = rng.random()
    if depth > 6 or r < 0.35:
        return rng.choice([None, True, False, 0, -1, 1e308, -1e-308, 2 ** 63, 2 ** 64, 1.5,
                           "", "x", "\u00e9", rng.choice(WEIRD), rng.randint(-10 ** 6, 10 ** 6),
                           rng.uniform(-1e6, 1e6)])
    if r < 0.65:
        return [rand_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["params", "env_params", "id", "agent", "env", "n_envs", "seed", "role", "name",
            "recreate", "rationale", "expected_improvement", "learning_rate", "gamma", "reason",
            "preset", "expires_in", "grace_s", rng.choice(WEIRD)]
    return {rng.choice(keys): rand_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def valid_body(rng, path, agents):
    a = rng.choice(agents)
    if path == "/api/v1/agents":
        return {"id": "fz%d" % rng.randint(0, 50), "agent": rng.choice(["random", "ppo", "dqn"]),
                "env": rng.choice(["cartpole", "pendulum"]), "n_envs": rng.randint(1, 4)}
    if path.endswith("/params"):
        return {"params": {"gamma": rng.uniform(0.9, 0.999)}}
    if path == "/api/v1/proposals":
        return {"agent": a, "params": {"gamma": rng.uniform(0.9, 0.999)}, "rationale": "fuzz"}
    if path == "/api/v1/tokens":
        return {"name": "fz%d" % rng.randint(0, 1000), "role": rng.choice(["viewer", "operator"])}
    return {"reason": "fuzz"}


def mutate_text(rng, text):
    b = bytearray(text.encode() if isinstance(text, str) else text)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        if not b or op < 0.3:
            b[rng.randint(0, len(b)):rng.randint(0, len(b))] = rng.choice(
                [b"\xff", b"\xc3", b"\x00", b"{", b"[" * 50, b'"', b"\\u0000", b"\\ud800", b"9" * 400])
        elif op < 0.6:
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
        elif op < 0.8:
            del b[rng.randrange(len(b)):]
        else:
            b += b"," + bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
    return bytes(b)


def fill(rng, template, agents, plugins):
    out = []
    for seg in template.split("/"):
        if seg == "{id}" or seg == "{name}":
            r = rng.random()
            if r < 0.4:
                seg = rng.choice(agents if seg == "{id}" else plugins)
            elif r < 0.5:
                seg = str(rng.randint(0, 50))
            else:
                seg = rng.choice(WEIRD)
        out.append(seg)
    return "/".join(out)


def quote(s):
    """Percent-encodes what would break the request line, and leaves the rest as it is."""
    return "".join(c if 0x21 <= ord(c) < 0x7f else
                   "".join("%%%02X" % x for x in c.encode()) for c in s)


def structured(rng, c, tokens, route, agents, plugins):
    method, template, has_body, query = route
    if rng.random() < 0.1:
        method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    path = quote(fill(rng, template, agents, plugins))
    if "/tokens/" in template and "{id}" in template:
        path = "/api/v1/tokens/" + quote(rng.choice(WEIRD[:12]) + "x")  # never a real token
    if query or rng.random() < 0.2:
        names = query or ["limit", "x"]
        parts = []
        for _ in range(rng.randint(1, 4)):
            v = rng.choice([str(rng.randint(-5, 10 ** 7)), rng.choice(WEIRD), "1e9", "0x10"])
            parts.append("%s=%s" % (rng.choice(names), quote(v)))
        path += "?" + "&".join(parts)
    body = None
    if has_body or rng.random() < 0.1:
        r = rng.random()
        if r < 0.3:
            body = json.dumps(valid_body(rng, template, agents)).encode()
        elif r < 0.6:
            body = json.dumps(rand_json(rng)).encode()
        else:
            body = mutate_text(rng, json.dumps(valid_body(rng, template, agents)))
    headers = {}
    if rng.random() < 0.15:
        headers["X-Forwarded-For"] = rng.choice(["1.2.3.4", "", "::1, evil", "x" * 200])
    if rng.random() < 0.1:
        headers["Content-Type"] = rng.choice(["text/plain", "", "application/json; charset=latin1"])
    token = rng.choice(tokens)
    if rng.random() < 0.1:
        token = rng.choice(["", "tars_" + "0" * 64, "x" * 3000, tokens[0][:-1] + "A"])
    st, _, payload = c.request(method, path, body, token=token, headers=headers)
    return st, "%s %s" % (method, path[:120]), payload


def raw(rng, port, token, agents):
    lines = [
        b"GET /api/v1/health HTTP/1.1", b"G ET /api/v1/health HTTP/1.1", b"GET /api/v1/health",
        b"GET /api/v1/health HTTP/2.0", b"GET /api/v1/health HTTP/0.9", b"\x00\xff\xfe",
        b"GET " + b"/a" * 5000 + b" HTTP/1.1", b"BREW /api/v1/agents HTTP/1.1",
        b"POST /api/v1/agents HTTP/1.1", b"PATCH /api/v1/agents/%s/params HTTP/1.1" %
        rng.choice(agents).encode(), b"GET /api/v1/agents%00 HTTP/1.1", b"GET  HTTP/1.1",
        b"GET /api/v1/stream HTTP/1.1", b"GET /%ff%fe HTTP/1.1", b"GET /index.html%00 HTTP/1.1"]
    head = [rng.choice(lines), b"Host: x"]
    if rng.random() < 0.7:
        head.append(b"Authorization: Bearer " + token.encode())
    body = b""
    r = rng.random()
    if r < 0.3:
        body = mutate_text(rng, b'{"params": {"gamma": 0.95}}')
        head.append(b"Content-Length: %d" % len(body))
    elif r < 0.45:
        body = b"5\r\nhello\r\nzz\r\n" if rng.random() < 0.5 else b"0\r\n\r\n"
        head.append(b"Transfer-Encoding: chunked")
    elif r < 0.55:
        head.append(rng.choice([b"Content-Length: -1", b"Content-Length: 99999999999999999999",
                                b"Content-Length: abc", b"Content-Length: 0\r\nContent-Length: 5"]))
    if rng.random() < 0.15:
        head.append(b"X-Big: " + b"h" * rng.choice([100, 9000, 70000]))
    if rng.random() < 0.1:
        head += [b"X-%d: y" % i for i in range(rng.choice([70, 200]))]
    if rng.random() < 0.1:
        head.append(b"Bad Header Without Colon")
    sep = b"\n" if rng.random() < 0.1 else b"\r\n"
    data = sep.join(head) + sep + sep + body
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    except OSError as e:
        return 0, data[:80], str(e).encode()
    out = b""
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server stopped reading (a limit): what it said is still to be read
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return -1, data[:80], out[:200]
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    if not out:
        return 1, data[:80], out  # closed without a reply: acceptable for garbage
    try:
        status = int(out.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 999, data[:80], out[:200]
    if status == 505 and head[0].split(b" ")[-1] not in (b"HTTP/1.0", b"HTTP/1.1"):
        status = 405  # "version not supported" is the right answer to HTTP/0.9 or 2.0 here
    return status, data[:80], out[:300]


def ws_frames(rng, port, token):
    """An upgrade to the stream, then frames of every kind, some cut short."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    except OSError:
        return 0
    try:
        s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        try:
            s.recv(4096)
        except OSError:
            return 1
        frames = []
        if rng.random() < 0.5:
            frames.append(frame(0x1, json.dumps({"token": token}).encode(), True))
        for _ in range(rng.randint(1, 6)):
            op = rng.choice([0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3, 0xF])
            payload = bytes(rng.randrange(256) for _ in range(rng.choice([0, 5, 125, 126, 300])))
            f = frame(op, payload, rng.random() < 0.8, fin=rng.random() < 0.8)
            if rng.random() < 0.25:
                f = f[:rng.randint(1, max(1, len(f) - 1))]  # cut mid-frame
            frames.append(f)
        if rng.random() < 0.2:
            frames.append(b"\x81\xff" + struct.pack(">Q", 2 ** 63 - 1) + b"abcd")
        for f in frames:
            s.sendall(f)
        if rng.random() < 0.5:
            time.sleep(0.01)
    except OSError:
        pass
    finally:
        s.close()
    return 1


def frame(op, payload, masked, fin=True):
    head = bytes([(0x80 if fin else 0) | op])
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if masked:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def run(tap):
    tmp = chaos.tempdir("netfuzz")
    d = chaos.Daemon(tmp, {"runners": 1, "api_rate": 0, "api_address_rate": 0,
                           "api_max_body_kb": 64, "checkpoint_every_s": 5,
                           "agents": [{"id": "policy", "agent": "random", "env": "cartpole",
                                       "n_envs": 2, "seed": 1},
                                      {"id": "ethical", "agent": "ppo", "env": "cartpole",
                                       "seed": 2}]})
    try:
        if not tap.ok(d.start(), "tarsd serve starts"):
            tap.diag(d.log_tail())
            return
        admin = d.token
        c = chaos.Client(d.port, admin, timeout=TIMEOUT)
        tokens = [admin]
        for role in ("operator", "viewer"):
            st, t = c.json("POST", "/api/v1/tokens", {"name": "fuzz-" + role, "role": role})
            if st == 201:
                tokens.append(t["token"])
        agents = ["policy", "ethical"]
        plugins = ["ppo", "random", "cartpole", "nope"]
        rt = routes()
        rng = random.Random(SEED)
        fivexx, hangs, crashed = [], [], None
        kinds = {"structured": 0, "raw": 0, "websocket": 0}
        t0 = time.monotonic()
        for i in range(COUNT):
            r = rng.random()
            if r < 0.75:
                kinds["structured"] += 1
                st, what, payload = structured(rng, c, tokens, rng.choice(rt), agents, plugins)
                if st == 0:
                    hangs.append((what, payload[:100]))
            elif r < 0.93:
                kinds["raw"] += 1
                st, what, payload = raw(rng, d.port, admin, agents)
                if st == 0:
                    crashed = i
                    break
                if st == -1:
                    hangs.append((what, payload))
            else:
                kinds["websocket"] += 1
                st, what, payload = ws_frames(rng, d.port, admin), "websocket frames", b""
                if st == 0:
                    crashed = i
                    break
            if st >= 500:
                fivexx.append((st, what, payload[:200]))
            if i % 100 == 99 and not d.alive():
                crashed = i
                break
        elapsed = time.monotonic() - t0
        c.close()
        tap.figure("netfuzz requests", "%d in %.0f s (seed %d): %s" % (
            sum(kinds.values()), elapsed, SEED, json.dumps(kinds)))
        tap.ok(crashed is None and d.alive(), "tarsd survived every request" +
               ("" if crashed is None else " (it died by request %d)" % crashed))
        if crashed is not None or not d.alive():
            tap.diag(d.log_tail())
        tap.ok(not fivexx, "no 5xx (%d)" % len(fivexx))
        for x in fivexx[:10]:
            tap.diag("  %r" % (x,))
        tap.ok(not hangs, "no request hung (%d)" % len(hangs))
        for x in hangs[:10]:
            tap.diag("  %r" % (x,))
        tap.ok(chaos.wait_health(d.port, 10), "health answers after the fuzzing")
        tap.ok(d.stop() == 0, "tarsd stops cleanly after the fuzzing")
    finally:
        chaos.cleanup(tmp, d)


if __name__ == "__main__":
    chaos.main(run)
