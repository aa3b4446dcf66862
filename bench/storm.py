#!/usr/bin/env python3
"""Sign-in storm as background load (standard library only).

usage: bench/storm.py setup BASE CLIENTS
       bench/storm.py run BASE CLIENTS SECONDS

`setup` signs up the users storm0 … storm{CLIENTS-1}. `run` starts CLIENTS threads, each signing
in as its own user over one kept-alive connection, one sign-in after another for SECONDS, with
the wrong password and the right one in turn (every sign-in is a full Argon2 verification),
and prints one line: sign-ins, sign-ins per second, p50 and p99 in ms, and the answers by status
(`200:…,401:…,429:…`).

The sign-in throttle is relaxed through configuration that exists (no setting changes its
allowances): the server must trust 127.0.0.1 as a proxy (`LOCKBOX_TRUSTED_PROXIES=127.0.0.1`)
and each sign-in names a client address of its own in `X-Forwarded-For`, so no address reaches
its allowance; and each account alternates a wrong and a right password, so no account counts
more than one failure before a success clears it. What still answers 429 is the hashing
semaphore (`Retry-After: 1` when no hasher is free within 3 s), as shipped.
"""
import http.client
import sys
import threading
import time
import urllib.parse
from collections import Counter

from benchlib import percentile

PASSWORD = "correct horse battery staple"


def sign_in(conn, path, fields, xff):
    body = urllib.parse.urlencode(fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if xff:
        headers["X-Forwarded-For"] = xff
    conn.request("POST", path, body, headers)
    res = conn.getresponse()
    res.read()
    return res.status


def main():
    mode, base, clients = sys.argv[1], sys.argv[2], int(sys.argv[3])
    host = urllib.parse.urlsplit(base)
    connect = lambda: http.client.HTTPConnection(host.hostname, host.port, timeout=60)  # noqa: E731
    if mode == "setup":
        conn = connect()
        for i in range(clients):
            status = sign_in(conn, "/api/signup", {"username": f"storm{i}", "password": PASSWORD}, None)
            assert status == 200, f"signing up storm{i}: HTTP {status}"
        return
    seconds = float(sys.argv[4])
    lock = threading.Lock()
    statuses, latencies = Counter(), []
    go = threading.Event()
    deadline = [0.0]

    def client(i):
        conn = connect()
        mine, took = Counter(), []
        go.wait()
        k = 0
        while time.monotonic() < deadline[0]:
            password = PASSWORD if k % 2 else "not the password"
            # One address per sign-in (10.i.x.y): no address is counted twice.
            xff = f"10.{i}.{(k // 250) % 250}.{k % 250}"
            t0 = time.perf_counter()
            try:
                status = sign_in(conn, "/api/login", {"username": f"storm{i}", "password": password}, xff)
            except (OSError, http.client.HTTPException):
                status = "error"
                conn.close()
                conn = connect()
            took.append((time.perf_counter() - t0) * 1000)
            mine[status] += 1
            k += 1
        with lock:
            statuses.update(mine)
            latencies.extend(took)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    started = time.monotonic()
    deadline[0] = started + seconds
    go.set()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    n = sum(statuses.values())
    by_status = ",".join(f"{s}:{c}" for s, c in sorted(statuses.items(), key=lambda x: str(x[0])))
    print(f"{n} {n / wall:.1f} {percentile(latencies, 50):.0f} {percentile(latencies, 99):.0f} {by_status}")


if __name__ == "__main__":
    main()
