#!/usr/bin/env python3
"""Sign-in storm: resident memory of the server under 200 concurrent sign-ins (standard library).

Usage: bench/signin.py [BINARY] [CONCURRENCY]
Builds nothing: BINARY defaults to target/release/lockbox (`cargo build --release --features
ssr`, or what `bench/run` built). Starts it on 127.0.0.1:3951 with a fresh data directory and
SQLite, signs up 40 users, then fires CONCURRENCY (default 200) sign-ins with the right password
at once (5 per user, the per-account allowance) from as many threads, sampling the server's VmRSS
every 10 ms. Each sign-in names its own client address in X-Forwarded-For (the server trusts
127.0.0.1 as a proxy; the addresses are only header text), so the per-address throttle does not
stand in for the semaphore being measured. Prints a
Markdown section: answers by status, RSS idle (4 s after start), before, peak during, and 5 s
after the storm, and whether they are within the bounds that the hashing semaphore implies:
  peak  <= idle + hashers x 19 MiB + 48 MiB (request buffers, threads, the allocator's slack)
  after <= idle + 16 MiB (the hashing blocks are freed 2 s after the last hash)
where hashers is the number of concurrent Argon2 hashes (one per core, 2 to 4). Exits 1 when
a bound is exceeded.
"""

import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from benchlib import rss_kib, server_env, start_server, stop_server

PORT = 3951
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "correct horse battery staple"
USERS = 40
ARGON2_MIB = 19


def post(path, fields, headers=None):
    req = urllib.request.Request(
        BASE + path,
        data=urllib.parse.urlencode(fields).encode(),
        headers=headers or {},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as res:
            res.read()
            return res.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/lockbox"
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    hashers = min(4, max(2, os.cpu_count() or 2))
    data = tempfile.mkdtemp(prefix="lockbox-bench-signin-")
    env = server_env(data, PORT, LOCKBOX_TRUSTED_PROXIES="127.0.0.1")
    server, _ = start_server(binary, env)
    try:
        time.sleep(4)  # the dummy-hash warm-up has run and its memory is freed
        idle = rss_kib(server.pid)
        for i in range(USERS):
            assert post("/api/signup", {"username": f"storm{i}", "password": PASSWORD}) == 200
        time.sleep(3)  # start-up and sign-up work settled
        before = rss_kib(server.pid)

        statuses = []
        lock = threading.Lock()
        go = threading.Event()

        def sign_in(i):
            go.wait()
            status = post(
                "/api/login",
                {"username": f"storm{i % USERS}", "password": PASSWORD},
                {"X-Forwarded-For": f"198.51.{100 + i // 250}.{i % 250}"},
            )
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(concurrency)]
        for t in threads:
            t.start()
        peak = before
        started = time.monotonic()
        go.set()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_kib(server.pid))
            time.sleep(0.01)
        wall = time.monotonic() - started
        time.sleep(5)
        after = rss_kib(server.pid)
    finally:
        stop_server(server)
        shutil.rmtree(data, ignore_errors=True)

    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    peak_bound = idle + (hashers * ARGON2_MIB + 48) * 1024
    after_bound = idle + 16 * 1024
    ok = peak <= peak_bound and after <= after_bound
    print(f"## Sign-in storm: {concurrency} concurrent sign-ins ({hashers} concurrent hashes)")
    print()
    print("| measure | value |")
    print("|---|---|")
    print("| answers | " + ", ".join(f"{n} × {s}" for s, n in counts.items()) + f" in {wall:.1f} s |")
    print(f"| RSS idle, 4 s after start | {idle // 1024} MiB |")
    print(f"| RSS before the storm (after {USERS} sign-ups) | {before // 1024} MiB |")
    print(f"| RSS peak during | {peak // 1024} MiB (bound {peak_bound // 1024} MiB) |")
    print(f"| RSS 5 s after | {after // 1024} MiB (bound {after_bound // 1024} MiB) |")
    print()
    print("Within the bounds." if ok else "**A BOUND WAS EXCEEDED.**")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
