#!/usr/bin/env python3
"""Sessions list with live Kubernetes sessions: API requests per view (standard library only).

usage: bench/kubeview.py BIN [DATABASE_URL] [SESSIONS] [VIEWS]

Starts bench/kube_mock.py (a mock API server that counts requests) and the server BIN with the
Kubernetes backend pointed at it (LOCKBOX_KUBE=1 and a kubeconfig; SQLite unless DATABASE_URL),
signs up one user with two secrets, launches SESSIONS (50) sessions of the demo environment
through /api/sessions/launch (the real launch: the backend creates each Pod and its Secret on the
mock, which reports the Pod Running 50 ms later on the Pod watch), waits until the mock has
written every Pod's Running state to the server's open watch, then views the sessions page
(`GET /sessions`) VIEWS (200) times and `POST /api/sessions/list` VIEWS times, checking that
every view shows all the sessions running.

Requests are counted by the mock while the views run: a watch is counted once when it opens
(what it streams after is no request), so a re-opened watch would show up, and the periodic
work that does not come from views (the propagation Lease's renewals, the minutely sweep's
metadata lists) is listed by path and left out of the per-view figure only when it is not a
request for a session's Pod by name. Prints a Markdown section.
"""
import base64
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import server_env, start_server, stop_server  # noqa: E402
from kube_mock import MockKube  # noqa: E402

BIN = sys.argv[1]
URL = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
SESSIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
VIEWS = int(sys.argv[4]) if len(sys.argv) > 4 else 200
PORT = 3953
BASE = f"http://127.0.0.1:{PORT}"
NS = "lockbox-sessions"
PASSWORD = "correct horse battery staple"


class Client:
    def __init__(self):
        self.cookie = ""
        self.non_2xx = 0

    def request(self, path, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(BASE + path, data=data)
        if self.cookie:
            req.add_header("Cookie", self.cookie)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                for value in res.headers.get_all("Set-Cookie") or []:
                    if value.startswith("lockbox_session="):
                        self.cookie = value.split(";", 1)[0]
                return res.status, res.read().decode()
        except urllib.error.HTTPError as e:
            self.non_2xx += 1
            return e.code, e.read().decode()


def wait_for(what, ok, seconds=30):
    deadline = time.monotonic() + seconds
    while not ok():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.05)


def pod_by_name(key):
    method, path, watch = key
    return not watch and "/pods/{name}" in path


def main():
    mock = MockKube()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write(mock.kubeconfig())
        env = server_env(
            tmp, PORT,
            LOCKBOX_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(),
            LOCKBOX_KUBE=1,
            LOCKBOX_MAX_LIVE_SESSIONS=SESSIONS + 10,
            KUBECONFIG=kubeconfig,
            LOCKBOX_DATABASE_URL=URL or None,
        )
        log = open(os.path.join(tmp, "server.log"), "w")
        server, _ = start_server(BIN, env, log)
        try:
            wait_for("the Pod watch", lambda: mock.open_watches("pods", NS) >= 1)
            c = Client()
            c.request("/api/signup", {"username": "kubeviewer", "password": PASSWORD})
            for name in ("BENCH_ENV", "BENCH_FILE"):
                c.request("/api/secrets/create", {"name": name, "value": "v" * 64})
            launched = time.monotonic()
            at_launch = mock.counts()
            for _ in range(SESSIONS):
                code, body = c.request("/api/sessions/launch", {
                    "environment": "demo",
                    "secrets[0][secret]": "BENCH_ENV", "secrets[0][mode]": "env",
                    "secrets[1][secret]": "BENCH_FILE", "secrets[1][mode]": "file",
                })
                if code != 200:
                    sys.exit(f"launch failed: HTTP {code}: {body[:300]}")
            launch_secs = time.monotonic() - launched
            launch_counts = mock.counts() - at_launch
            wait_for("every Pod Running on the watch", lambda: mock.running_seen(NS) >= SESSIONS)
            # The reflector applies an event as it arrives; a moment for the last one.
            time.sleep(1)
            watches_before = mock.open_watches("pods", NS)
            before = mock.counts()
            started = time.monotonic()
            page_ok = list_ok = 0
            for _ in range(VIEWS):
                code, html = c.request("/sessions")
                running = set(re.findall(r'data-session="([0-9a-f-]{36})" data-status="running"', html))
                page_ok += code == 200 and len(running) == SESSIONS
            for _ in range(VIEWS):
                code, body = c.request("/api/sessions/list", {})
                items = json.loads(body) if code == 200 else []
                list_ok += len(items) == SESSIONS and all(i["status"] == "running" for i in items)
            seconds = time.monotonic() - started
            after = mock.counts()
            watches_after = mock.open_watches("pods", NS)
        finally:
            stop_server(server)
            mock.stop()
            log.close()
            if os.environ.get("BENCH_VERBOSE"):
                print(open(os.path.join(tmp, "server.log")).read()[-4000:], file=sys.stderr)
                for k, n in sorted(mock.counts().items()):
                    print(n, *k, file=sys.stderr)

    during = after - before
    views = 2 * VIEWS
    caused = sum(n for k, n in during.items() if not k[2] and "/pods" in k[1] and "{name}" in k[1])
    pod_requests = sum(n for k, n in during.items() if "/pods" in k[1])
    other = {k: n for k, n in during.items() if "/pods" not in k[1]}
    print(f"## Sessions list with {SESSIONS} live Kubernetes sessions (mock API server), "
          f"{'PostgreSQL' if URL else 'SQLite'}")
    print()
    launch_requests = ", ".join(f"{n} × {m} {p}{' (watch)' if w else ''}"
                                for (m, p, w), n in sorted(launch_counts.items()))
    print(f"{SESSIONS} sessions launched through `/api/sessions/launch` in {launch_secs:.1f} s "
          f"(requests the mock received meanwhile: {launch_requests}), all Running on the Pod "
          f"watch; then {VIEWS} views of `/sessions` and {VIEWS} of `/api/sessions/list` in "
          f"{seconds:.1f} s.")
    print()
    print("| views | showing all sessions running | requests for Pods (GET by name, list, watch) | per view | other requests (not from views) | non-2xx |")
    print("|---|---|---|---|---|---|")
    others = ", ".join(f"{n} × {m} {p}{' (watch)' if w else ''}" for (m, p, w), n in sorted(other.items())) or "none"
    print(f"| {views} | {page_ok} pages + {list_ok} lists | {pod_requests} | "
          f"**{pod_requests / views:.2f}** | {others} | {c.non_2xx} |")
    print()
    print(f"Open Pod watches: {watches_before} before the views, {watches_after} after; "
          f"GETs of a Pod by name during the views: {caused}.")
    print()
    ok = pod_requests == 0 and page_ok == VIEWS and list_ok == VIEWS and c.non_2xx == 0
    sys.exit(0 if ok else 1)


main()
