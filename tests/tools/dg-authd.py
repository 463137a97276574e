#!/usr/bin/env python3
"""dg-authd: a site's auth service, as the end-to-end tests need one.

    dg-authd.py serve PORT CTLPORT [--parent PID] [--ready FILE]
    dg-authd.py ctl CTLPORT set MODE [KEY=VALUE...]
    dg-authd.py ctl CTLPORT stats
    dg-authd.py ctl CTLPORT reset

`serve` answers HTTP on 127.0.0.1:PORT the way its mode says, and takes
orders on 127.0.0.1:CTLPORT. It writes FILE once both ports listen, and
exits when PARENT (the test's shell) is gone or on SIGTERM.

Modes (what any request on PORT gets):
  ok          200 {"allow": true} plus tier, message, ttl when given
  ok-vip      ok, with tier "vip" unless tier= says otherwise
  ok-message  ok, with a message ("Welcome back, adventurer!" by default)
  deny        200 {"allow": false, "reason", "message"} plus ttl when given
  401, 403    that status; the deny body, or none with bare=1
  slow        ok, after delay= seconds (30 by default) or as soon as the
              mode changes, whichever comes first
  down        the port is closed and every open connection dropped; any
              other mode opens it again
  500         500 with a short text body
  garbage     200, Content-Type application/json, a body that is not JSON
  huge        200 with a valid allow (tier vip) of size= bytes (100000)
  reset       200 with a Content-Length the body never reaches: the
              connection is reset in the middle of the body
  redirect    302 to location= (by default /redirected on this port, which
              always answers 200 {"allow": true, "tier": "vip"})
  raw         status= with body= as it is

Keys: tier, message, reason, ttl, delay, size, status, body, bare,
location; ttl, delay, size, status and bare are numbers when they look
like one (ttl=soon stays a string, for contract violations). user=NAME
sets the mode for that user alone (the "user" of the request's body);
without it the mode is everyone's and every user's own mode is dropped.

`stats` prints JSON: requests (all requests on PORT), paths (by path),
users (by user), inflight (answers being worked on), listening, mode,
and last (method, path, headers with lower-case names, body) of the most
recent request. `reset` zeroes the counts and forgets the last request.
"""

import argparse
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "ok-vip", "ok-message", "deny", "401", "403", "slow", "down",
         "500", "garbage", "huge", "reset", "redirect", "raw")
KEYS = ("tier", "message", "reason", "ttl", "delay", "size", "status",
        "body", "bare", "location", "user")
NUMERIC = ("ttl", "delay", "size", "status", "bare")
MAX_BODY = 1 << 20


class State:
    """Everything both servers share, under one lock."""

    def __init__(self, port):
        self.port = port
        self.cond = threading.Condition()
        self.default = {"mode": "ok"}
        self.rules = {}
        self.generation = 0
        self.requests = 0
        self.paths = {}
        self.users = {}
        self.inflight = 0
        self.last = None
        self.server = None
        self.conns = set()

    def spec_for(self, user):
        """The mode that applies to a user's request."""
        with self.cond:
            if isinstance(user, str) and user in self.rules:
                return dict(self.rules[user])
            return dict(self.default)

    def set_mode(self, spec):
        """Take a new mode; wakes slow answers. Returns an error or None."""
        mode = spec.get("mode")
        if mode not in MODES:
            return "unknown mode %r (one of %s)" % (mode, " ".join(MODES))
        for k in spec:
            if k != "mode" and k not in KEYS:
                return "unknown key %r" % k
        user = spec.pop("user", None)
        with self.cond:
            if user is None:
                self.default = spec
                self.rules = {}
            else:
                self.rules[user] = spec
            self.generation += 1
            self.cond.notify_all()
            down = user is None and mode == "down"
        if down:
            self.go_down()
        else:
            self.go_up()
        return None

    def go_up(self):
        """Listen on the port, if not already."""
        with self.cond:
            if self.server is not None:
                return
            srv = ThreadingHTTPServer(("127.0.0.1", self.port), AuthHandler)
            srv.daemon_threads = True
            srv.state = self
            self.server = srv
        threading.Thread(target=srv.serve_forever, args=(0.05,),
                         daemon=True).start()

    def go_down(self):
        """Close the port and drop every connection open on it."""
        with self.cond:
            srv, self.server = self.server, None
            conns = list(self.conns)
        if srv is not None:
            srv.shutdown()
            srv.server_close()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def record(self, method, path, headers, body):
        """Count a request and keep it as the last one."""
        user = None
        try:
            doc = json.loads(body)
            if isinstance(doc, dict):
                user = doc.get("user")
        except ValueError:
            pass
        with self.cond:
            self.requests += 1
            self.paths[path] = self.paths.get(path, 0) + 1
            if isinstance(user, str):
                self.users[user] = self.users.get(user, 0) + 1
            self.last = {
                "method": method,
                "path": path,
                "headers": {k.lower(): v for k, v in headers.items()},
                "body": body.decode("utf-8", "replace"),
                "time": time.time(),
            }
        return user

    def stats(self):
        """What the test asks about."""
        with self.cond:
            return {
                "requests": self.requests,
                "paths": dict(self.paths),
                "users": dict(self.users),
                "inflight": self.inflight,
                "listening": self.server is not None,
                "mode": dict(self.default),
                "rules": {u: dict(s) for u, s in self.rules.items()},
                "last": self.last,
            }

    def reset(self):
        """Zero the counts."""
        with self.cond:
            self.requests = 0
            self.paths = {}
            self.users = {}
            self.last = None


def log(fmt, *args):
    """One line on stderr, which the test keeps in its directory."""
    sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))
    sys.stderr.flush()


class AuthHandler(BaseHTTPRequestHandler):
    """The auth service's side: every request is answered per its mode."""

    protocol_version = "HTTP/1.1"
    server_version = "dg-authd/1"
    # The head and the body of an answer are two writes: without
    # TCP_NODELAY the body waits for the client's delayed ACK of the head
    # (40 ms on Linux) on every request of a kept-alive connection.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with self.server.state.cond:
            self.server.state.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            with self.server.state.cond:
                self.server.state.conns.discard(self.connection)

    def log_message(self, format, *args):
        pass

    def read_body(self):
        """The request's body, by Content-Length or chunks, bounded."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline(1024)
                    return body
                if len(body) + size > MAX_BODY:
                    raise ValueError("body too large")
                body += self.rfile.read(size)
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length", "0") or "0")
        if length < 0 or length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length)

    def do_POST(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def send(self, status, body, ctype="application/json", extra=()):
        """One whole answer."""
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def handle_any(self):
        state = self.server.state
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        user = state.record(self.command, self.path, self.headers, body)
        with state.cond:
            state.inflight += 1
        try:
            if self.path == "/redirected":
                log("%s %s user=%s answer=redirected", self.command,
                    self.path, user)
                self.send(200, json.dumps({"allow": True, "tier": "vip"}))
                return
            spec = state.spec_for(user)
            log("%s %s user=%s mode=%s", self.command, self.path, user,
                spec["mode"])
            self.answer(state, spec, user)
        except OSError:
            self.close_connection = True
        finally:
            with state.cond:
                state.inflight -= 1

    def allow_body(self, spec, tier=None, message=None):
        """An allow with what the spec adds."""
        doc = {"allow": True}
        tier = spec.get("tier", tier)
        message = spec.get("message", message)
        if tier is not None:
            doc["tier"] = tier
        if message is not None:
            doc["message"] = message
        if "ttl" in spec:
            doc["ttl"] = spec["ttl"]
        return json.dumps(doc)

    def deny_body(self, spec):
        """A deny with what the spec adds."""
        doc = {"allow": False,
               "reason": spec.get("reason", "banned"),
               "message": spec.get("message",
                                   "You are banned from this server.")}
        if "ttl" in spec:
            doc["ttl"] = spec["ttl"]
        return json.dumps(doc)

    def answer(self, state, spec, user):
        """Answer one request the way the mode says."""
        mode = spec["mode"]
        if mode == "ok":
            self.send(200, self.allow_body(spec))
        elif mode == "ok-vip":
            self.send(200, self.allow_body(spec, tier="vip"))
        elif mode == "ok-message":
            self.send(200, self.allow_body(
                spec, message="Welcome back, adventurer!"))
        elif mode == "deny":
            self.send(200, self.deny_body(spec))
        elif mode in ("401", "403"):
            body = "" if spec.get("bare") else self.deny_body(spec)
            self.send(int(mode), body)
        elif mode == "slow":
            with state.cond:
                gen = state.generation
                state.cond.wait_for(lambda: state.generation != gen,
                                    timeout=float(spec.get("delay", 30)))
            if state.spec_for(user)["mode"] == "down":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send(200, self.allow_body(spec))
        elif mode == "down":
            # A user's own "down": drop this connection unanswered.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "500":
            self.send(500, "internal server error\n", ctype="text/plain")
        elif mode == "garbage":
            self.send(200, "<html><body>allow: true, tier: vip{{{\x01\x02")
        elif mode == "huge":
            size = int(spec.get("size", 100000))
            head = '{"allow": true, "tier": "vip", "message": "'
            pad = max(0, size - len(head) - 2)
            self.send(200, head + "x" * pad + '"}')
        elif mode == "reset":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "400")
            self.end_headers()
            self.wfile.write(b'{"allow": true, "tier": "vip", "mess')
            self.wfile.flush()
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        elif mode == "redirect":
            loc = spec.get("location",
                           "http://127.0.0.1:%d/redirected" % state.port)
            self.send(302, "", extra=(("Location", loc),))
        elif mode == "raw":
            self.send(int(spec.get("status", 200)), spec.get("body", ""))


class ControlHandler(BaseHTTPRequestHandler):
    """The test's side: set the mode, read the counts."""

    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):
        pass

    def reply(self, status, doc):
        body = (json.dumps(doc) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            self.reply(200, self.server.state.stats())
        else:
            self.reply(404, {"error": "no such path"})

    def do_POST(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0") or "0")
        if length < 0 or length > MAX_BODY:
            self.reply(400, {"error": "body too large"})
            return
        raw = self.rfile.read(length)
        if self.path == "/reset":
            state.reset()
            self.reply(200, state.stats())
            return
        if self.path != "/set":
            self.reply(404, {"error": "no such path"})
            return
        try:
            spec = json.loads(raw)
        except ValueError:
            self.reply(400, {"error": "not JSON"})
            return
        if not isinstance(spec, dict):
            self.reply(400, {"error": "not an object"})
            return
        why = state.set_mode(spec)
        if why is not None:
            self.reply(400, {"error": why})
            return
        log("mode %s", json.dumps(spec, sort_keys=True))
        self.reply(200, state.stats())


def watch_parent(pid):
    """Exit when the test that started us is gone."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.2)


def serve(args):
    """Run both servers until killed or orphaned."""
    state = State(args.port)
    try:
        state.go_up()
        ctl = ThreadingHTTPServer(("127.0.0.1", args.ctlport), ControlHandler)
    except OSError as e:
        log("cannot listen: %s", e)
        return 2
    ctl.daemon_threads = True
    ctl.state = state
    if args.parent:
        threading.Thread(target=watch_parent, args=(args.parent,),
                         daemon=True).start()
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d %d %d\n" % (os.getpid(), args.port, args.ctlport))
        os.rename(args.ready + ".tmp", args.ready)
    log("listening port=%d control=%d pid=%d", args.port, args.ctlport,
        os.getpid())
    ctl.serve_forever(0.05)
    return 0


def number(v):
    """A number when the text is one, else the text."""
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def ctl(args):
    """Talk to a running serve."""
    conn = http.client.HTTPConnection("127.0.0.1", args.ctlport, timeout=10)
    if args.what == "stats":
        conn.request("GET", "/stats")
    elif args.what == "reset":
        conn.request("POST", "/reset", body=b"")
    elif args.what == "set":
        if not args.rest:
            sys.stderr.write("dg-authd: set needs a mode\n")
            return 64
        spec = {"mode": args.rest[0]}
        for kv in args.rest[1:]:
            k, sep, v = kv.partition("=")
            if not sep:
                sys.stderr.write("dg-authd: %r is not KEY=VALUE\n" % kv)
                return 64
            spec[k] = number(v) if k in NUMERIC else v
        conn.request("POST", "/set", body=json.dumps(spec).encode(),
                     headers={"Content-Type": "application/json"})
    else:
        sys.stderr.write("dg-authd: unknown control command %r\n" % args.what)
        return 64
    resp = conn.getresponse()
    body = resp.read().decode()
    if resp.status != 200:
        sys.stderr.write("dg-authd: %s" % body)
        return 1
    sys.stdout.write(body)
    return 0


def main():
    p = argparse.ArgumentParser(
        prog="dg-authd.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("port", type=int)
    s.add_argument("ctlport", type=int)
    s.add_argument("--parent", type=int, default=0)
    s.add_argument("--ready")
    c = sub.add_parser("ctl")
    c.add_argument("ctlport", type=int)
    c.add_argument("what")
    c.add_argument("rest", nargs="*")
    args = p.parse_args()
    try:
        return serve(args) if args.cmd == "serve" else ctl(args)
    except ConnectionError as e:
        sys.stderr.write("dg-authd: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
