#!/usr/bin/python3
"""Talk to a running dpdk-vswitch's control socket directly (src/ctl/ctl_proto.h).

Newline-delimited JSON: {"id": N, "cmd": "...", "args": [...]} answered by
{"id": N, "ok": true, "result": {...}} or {"id": N, "ok": false, "error": "..."}.

usage:
  cli_garbage.py load SOCKET CLIENTS REQUESTS
      CLIENTS threads, one connection each, reused for REQUESTS requests
      (show, stats, port list, endpoint list in turn); every reply must be
      ok with its id echoed.  Prints the time taken.
  cli_garbage.py garbage SOCKET
      malformed and hostile requests, each followed by a check that a fresh
      client is still served.
  cli_garbage.py large SOCKET MIN_BYTES
      the `show` reply is at least MIN_BYTES; clients that disconnect before
      reading it (one request, or many pipelined) leave the daemon serving.
  cli_garbage.py hold SOCKET N
      open N connections and keep them, silent, until stdin is closed
      (prints "HOLDING N").
  cli_garbage.py idle SOCKET MIN_S MAX_S
      connect, send nothing, print "IDLE OPEN"; the daemon must close the
      connection after MIN_S to MAX_S seconds ("IDLE CLOSED after N s").

Exit status 0 when every check passed, 1 otherwise (each failure printed
as "FAIL: ..."), 2 for bad usage.
"""
import json
import socket
import sys
import threading
import time

MAX_MSG = 64 * 1024          # CTL_PROTO_MAX_MSG
MAX_CLIENTS = 64             # ctl_server.c
TIMEOUT = 10.0

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}", flush=True)


def ok(msg):
    print(f"PASS: {msg}", flush=True)


class Conn:
    """One client connection with line-buffered replies."""

    def __init__(self, path, timeout=TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # blocking connect: waits for room in the listen backlog (a
        # non-blocking one fails with EAGAIN when it is full)
        self.sock.connect(path)
        self.sock.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """The next reply line (bytes, no newline), or None at EOF."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        line = self.line()
        if line is None:
            raise EOFError("connection closed by the daemon")
        return json.loads(line)

    def call(self, rid, cmd, *args):
        self.send(json.dumps({"id": rid, "cmd": cmd, "args": list(args)}) + "\n")
        return self.reply()

    def at_eof(self, timeout=TIMEOUT):
        """True when the daemon closed the connection (after any pending lines)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return True
                self.buf += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def served(path, what):
    """A fresh client gets an answer to `show`."""
    try:
        c = Conn(path, timeout=5)
        t0 = time.monotonic()
        r = c.call(4242, "show")
        dt = time.monotonic() - t0
        c.close()
    except (OSError, EOFError, ValueError) as e:
        fail(f"{what}: another client is no longer served: {e!r}")
        return False
    if r.get("ok") is not True or r.get("id") != 4242 or "ports" not in r.get("result", {}):
        fail(f"{what}: another client got a bad reply: {r}")
        return False
    ok(f"{what}: another client is still served ({dt * 1000:.1f} ms)")
    return True


# ---- load ------------------------------------------------------------------

MIX = [("show", [], "ports"), ("stats", [], "drops"),
       ("port", ["list"], "ports"), ("endpoint/list", [], "endpoints")]


def load(path, clients, requests):
    errors = []
    counts = [0] * clients
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(k):
        try:
            c = Conn(path)
        except OSError as e:
            with lock:
                errors.append(f"client {k}: connect: {e!r}")
            start.wait()
            return
        start.wait()
        for i in range(requests):
            rid = k * 1000000 + i
            cmd, args, key = MIX[(i + k) % len(MIX)]
            try:
                r = c.call(rid, cmd, *args)
            except (OSError, EOFError, ValueError) as e:
                with lock:
                    errors.append(f"client {k} request {i} ({cmd}): {e!r}")
                break
            if r.get("ok") is not True or r.get("id") != rid or key not in r.get("result", {}):
                with lock:
                    errors.append(f"client {k} request {i} ({cmd} {args}): {str(r)[:200]}")
                continue
            counts[k] += 1
        c.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    total = clients * requests
    good = sum(counts)
    print(f"load: {clients} clients x {requests} requests: {good} ok, {total - good} failed "
          f"in {dt:.2f} s ({good / dt:.0f} requests/s)", flush=True)
    for e in errors[:10]:
        fail(e)
    if good != total and not errors:
        fail(f"only {good} of {total} requests answered")


# ---- garbage -----------------------------------------------------------------

def expect_error(path, what, data, needle, rid=None, same_conn_ok=True):
    """Send @data on a new connection: one ok:false reply containing @needle,
    the id echoed when @rid is given, then (optionally) the same connection
    still answers a good request."""
    try:
        c = Conn(path)
        c.send(data)
        r = c.reply()
    except (OSError, EOFError, ValueError) as e:
        fail(f"{what}: no error reply: {e!r}")
        served(path, what)
        return
    good = r.get("ok") is False and needle in r.get("error", "")
    if rid is not None:
        good = good and r.get("id") == rid
    if not good:
        fail(f"{what}: expected ok:false with '{needle}'"
             f"{'' if rid is None else f' and id {rid}'}, got {r}")
    else:
        ok(f"{what}: {r['error']}")
    if same_conn_ok:
        try:
            r2 = c.call(77, "version")
            if r2.get("ok") is not True or r2.get("id") != 77:
                fail(f"{what}: the same connection then got {r2}")
        except (OSError, EOFError, ValueError) as e:
            fail(f"{what}: the same connection was closed afterwards: {e!r}")
    c.close()
    served(path, what)


def garbage(path):
    expect_error(path, "malformed JSON", b'{"id": 1, "cmd": "show"\n', "malformed request")
    expect_error(path, "not JSON at all", b"show me the ports\n", "malformed request")
    expect_error(path, "JSON array instead of an object", b'["show", 1]\n',
                 "expected a JSON object")
    expect_error(path, "JSON string instead of an object", b'"show"\n',
                 "malformed request")
    expect_error(path, "'cmd' is a number", b'{"id": 3, "cmd": 5}\n',
                 "'cmd' must be a string", rid=3)
    expect_error(path, "'cmd' missing", b'{"id": 4, "args": []}\n',
                 "'cmd' must be a string", rid=4)
    expect_error(path, "'args' is a string", b'{"id": 5, "cmd": "show", "args": "ports"}\n',
                 "'args' must be an array of strings", rid=5)
    expect_error(path, "'args' holds a number", b'{"id": 6, "cmd": "stats", "args": [1]}\n',
                 "'args' must be an array of strings", rid=6)
    expect_error(path, "'args' holds an object",
                 b'{"id": 7, "cmd": "stats", "args": [{"a": "b"}]}\n',
                 "'args' must be an array of strings", rid=7)
    expect_error(path, "unknown command", b'{"id": 8, "cmd": "frobnicate", "args": []}\n',
                 "unknown command 'frobnicate'", rid=8)
    expect_error(path, "unknown verb", b'{"id": 9, "cmd": "port", "args": ["explode"]}\n',
                 "unknown command 'port'", rid=9)
    expect_error(path, "wrong argument count", b'{"id": 10, "cmd": "port/show", "args": []}\n',
                 "usage: port/show NAME", rid=10)
    expect_error(path, "invalid UTF-8", b'{"id": 11, "cmd": "sh\xff\xfeow"}\n',
                 "malformed request")
    expect_error(path, "NUL byte inside the request", b'{"id": 12, "cmd": "show\x00"}\n',
                 "malformed request")
    # jansson limits the nesting depth; 30,000 levels fit in 64 KiB
    expect_error(path, "30,000 nested arrays", b"[" * 30000 + b"]" * 30000 + b"\n",
                 "malformed request")
    expect_error(path, "30,000 nested objects in args",
                 b'{"id": 13, "cmd": "show", "args": ' + b'{"a":' * 10000 + b"1" +
                 b"}" * 10000 + b"}\n", "malformed request")

    # A request without an id (or with a non-integer one) is answered without one.
    try:
        c = Conn(path)
        c.send(b'{"cmd": "version"}\n')
        r = c.reply()
        c.send(b'{"id": "seven", "cmd": "version"}\n')
        r2 = c.reply()
        c.close()
        if r.get("ok") is not True or "id" in r or r2.get("ok") is not True or "id" in r2:
            fail(f"requests without an integer id: got {r} and {r2}")
        else:
            ok("requests without an integer id are answered without one")
    except (OSError, EOFError, ValueError) as e:
        fail(f"requests without an integer id: {e!r}")

    # Blank lines are skipped; pipelined requests are answered in order.
    try:
        c = Conn(path)
        c.send(b"\n \r\n\t\n" + b"".join(
            json.dumps({"id": i, "cmd": ["version", "stats", "help"][i % 3]}).encode() + b"\n"
            for i in range(1, 201)))
        ids = [c.reply().get("id") for _ in range(200)]
        c.close()
        if ids != list(range(1, 201)):
            fail(f"pipelined requests: replies out of order or missing: {ids[:20]}...")
        else:
            ok("blank lines ignored; 200 pipelined requests answered in order")
    except (OSError, EOFError, ValueError) as e:
        fail(f"pipelined requests: {e!r}")

    # Exactly CTL_PROTO_MAX_MSG bytes before the newline is still served.
    req = b'{"id": 14, "cmd": "version", "pad": "'
    req += b"x" * (MAX_MSG - len(req) - 2) + b'"}'
    assert len(req) == MAX_MSG
    try:
        c = Conn(path)
        c.send(req + b"\n")
        r = c.reply()
        c.close()
        if r.get("ok") is not True or r.get("id") != 14:
            fail(f"a request of exactly {MAX_MSG} bytes: got {r}")
        else:
            ok(f"a request of exactly {MAX_MSG} bytes is served")
    except (OSError, EOFError, ValueError) as e:
        fail(f"a request of exactly {MAX_MSG} bytes: {e!r}")

    # 100 KiB without a newline: an error reply, then the connection is closed.
    try:
        c = Conn(path)
        try:
            c.send(b"x" * (100 * 1024))
        except (BrokenPipeError, ConnectionResetError):
            pass   # the daemon closed first; its reply is still queued for us
        r = c.reply()
        closed = c.at_eof(5)
        c.close()
        if r.get("ok") is not False or "request too large" not in r.get("error", ""):
            fail(f"oversized request: expected 'request too large', got {r}")
        elif not closed:
            fail("oversized request: the connection was not closed after the error")
        else:
            ok(f"oversized request (100 KiB, no newline): '{r['error']}', connection closed")
    except (OSError, EOFError, ValueError) as e:
        fail(f"oversized request: {e!r}")
    served(path, "oversized request")

    # One byte over the cap, newline included after it: refused too.
    try:
        c = Conn(path)
        req = b'{"id": 15, "cmd": "version", "pad": "' + b"x" * MAX_MSG + b'"}\n'
        try:
            c.send(req)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.reply()
        closed = c.at_eof(5)
        c.close()
        if r.get("ok") is not False or "request too large" not in r.get("error", "") \
                or not closed:
            fail(f"request over {MAX_MSG} bytes with a newline: got {r}, closed={closed}")
        else:
            ok(f"a request of {len(req) - 1} bytes is refused and the connection closed")
    except (OSError, EOFError, ValueError) as e:
        fail(f"request over the cap with a newline: {e!r}")
    served(path, "request over the cap")

    # A client that connects and sends nothing does not hold others up.
    try:
        idle = [Conn(path) for _ in range(3)]
        served(path, "3 clients connected and silent")
        idle[0].send(b'{"id": 16, "cmd": "sh')
        served(path, "a client silent in the middle of a request")
        for c in idle:
            c.close()
    except OSError as e:
        fail(f"silent clients: {e!r}")

    # Half a request, then gone.
    try:
        c = Conn(path)
        c.send(b'{"id": 17, "cmd": "stats", "ar')
        c.close()
        c = Conn(path)
        c.send(b'{"id": 18, "cmd": "show"}')   # complete but no newline, then EOF
        c.sock.shutdown(socket.SHUT_WR)
        closed = c.at_eof(5)
        c.close()
        if not closed:
            fail("a request without newline followed by EOF: connection left open")
        else:
            ok("half a request then disconnect: connection dropped")
    except OSError as e:
        fail(f"half a request: {e!r}")
    served(path, "half a request then disconnect")

    # Shut down the write side after a full request: still answered.
    try:
        c = Conn(path)
        c.send(b'{"id": 19, "cmd": "version"}\n')
        c.sock.shutdown(socket.SHUT_WR)
        r = c.reply()
        closed = c.at_eof(5)
        c.close()
        if r.get("ok") is not True or r.get("id") != 19 or not closed:
            fail(f"request then shutdown(SHUT_WR): got {r}, closed={closed}")
        else:
            ok("request then shutdown(SHUT_WR): answered, then closed")
    except (OSError, EOFError, ValueError) as e:
        fail(f"request then shutdown(SHUT_WR): {e!r}")

    # More clients than the daemon serves: the extra ones are told why.
    conns, busy, accepted = [], 0, 0
    try:
        for _ in range(MAX_CLIENTS + 6):
            conns.append(Conn(path))
        for i, c in enumerate(conns):
            try:
                try:
                    c.send(json.dumps({"id": 1000 + i, "cmd": "version"}) + "\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass   # refused and closed already: its reason is waiting
                r = c.reply()
            except (OSError, EOFError) as e:
                fail(f"client {i} of {len(conns)}: neither served nor refused: {e!r}")
                continue
            if r.get("ok") is True:
                accepted += 1
            elif "too many clients" in r.get("error", ""):
                busy += 1
            else:
                fail(f"client {i} of {len(conns)}: {r}")
        if busy == 0 or accepted > MAX_CLIENTS or accepted < MAX_CLIENTS - 4:
            fail(f"{len(conns)} clients at once: {accepted} served, {busy} refused "
                 f"(expected about {MAX_CLIENTS} served, the rest refused)")
        else:
            ok(f"{len(conns)} clients at once: {accepted} served, {busy} refused with "
               f"'too many clients (max {MAX_CLIENTS})'")
    except OSError as e:
        fail(f"too many clients: {e!r}")
    for c in conns:
        c.close()
    time.sleep(0.2)
    served(path, "after too many clients")

    # Many short-lived connections in a row (no slot leaks).
    try:
        for i in range(300):
            c = Conn(path)
            if i % 2:
                r = c.call(i, "version")
                if r.get("ok") is not True:
                    fail(f"connection {i}: {r}")
                    break
            c.close()
        else:
            ok("300 short-lived connections (half of them without a request)")
    except (OSError, EOFError, ValueError) as e:
        fail(f"short-lived connections: {e!r}")
    served(path, "short-lived connections")


# ---- large replies -------------------------------------------------------------

def large(path, min_bytes):
    c = Conn(path)
    c.send(b'{"id": 1, "cmd": "show"}\n')
    line = c.line()
    c.close()
    size = len(line or b"")
    if size < min_bytes:
        fail(f"the show reply is {size} bytes, expected at least {min_bytes}")
    else:
        ok(f"the show reply is {size} bytes")
    for rounds in range(5):
        c = Conn(path)
        c.send(b'{"id": 2, "cmd": "show"}\n')
        c.close()
    served(path, "5 clients gone before reading a large reply")
    c = Conn(path)
    c.send(b'{"id": 3, "cmd": "show"}\n')
    c.sock.recv(1000)   # a little of it, then gone
    c.close()
    served(path, "a client gone after reading 1000 bytes of a large reply")
    c = Conn(path)
    c.send(b"".join(json.dumps({"id": i, "cmd": "show"}).encode() + b"\n" for i in range(50)))
    time.sleep(0.3)
    c.close()
    served(path, "a client gone with 50 large replies pipelined")


# ---- idle timeout ---------------------------------------------------------------

def idle(path, lo, hi):
    c = Conn(path)
    t0 = time.monotonic()
    print("IDLE OPEN", flush=True)
    closed = c.at_eof(hi + 5)
    dt = time.monotonic() - t0
    if not closed:
        fail(f"an idle client was not disconnected within {hi + 5} s")
        return
    print(f"IDLE CLOSED after {dt:.1f} s", flush=True)
    if not lo <= dt <= hi:
        fail(f"an idle client was disconnected after {dt:.1f} s, expected {lo} to {hi} s")


def hold(path, n):
    conns = []
    for _ in range(n):
        conns.append(Conn(path))
    time.sleep(0.2)   # let the daemon accept (or refuse) them all
    print(f"HOLDING {len(conns)}", flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    for c in conns:
        c.close()


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    mode, path = argv[1], argv[2]
    if mode == "load" and len(argv) == 5:
        load(path, int(argv[3]), int(argv[4]))
    elif mode == "garbage" and len(argv) == 3:
        garbage(path)
    elif mode == "large" and len(argv) == 4:
        large(path, int(argv[3]))
    elif mode == "hold" and len(argv) == 4:
        hold(path, int(argv[3]))
    elif mode == "idle" and len(argv) == 5:
        idle(path, float(argv[3]), float(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if failures:
        print(f"{mode}: {len(failures)} check(s) failed", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
