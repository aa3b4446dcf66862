#!/usr/bin/env python3
"""Signs up COUNT users through the real sign-up API (Argon2 hash, a freshly wrapped data key,
the audit event), CONCURRENCY at a time, waiting and retrying on 429 (the hashing semaphore).
Used by `bench/run rotation` to give the rewrap 10 000 users' data keys.

Usage: signup_many.py BASE_URL COUNT [CONCURRENCY] [PREFIX]; prints "created seconds".
"""
import http.client
import sys
import threading
import time
import urllib.parse

base, count = sys.argv[1], int(sys.argv[2])
concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 3
prefix = sys.argv[4] if len(sys.argv) > 4 else "member"
host = urllib.parse.urlparse(base)
lock = threading.Lock()
next_index = 0
created = 0
failures = []


def worker():
    global next_index, created
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    while True:
        with lock:
            if next_index >= count or failures:
                return
            i = next_index
            next_index += 1
        body = urllib.parse.urlencode(
            {"username": f"{prefix}{i:05d}", "password": "correct horse battery staple"}
        )
        for _attempt in range(50):
            conn.request("POST", "/api/signup", body,
                         {"Content-Type": "application/x-www-form-urlencoded"})
            res = conn.getresponse()
            res.read()
            if res.status == 429:
                time.sleep(float(res.getheader("Retry-After", "1")))
                continue
            break
        with lock:
            if res.status in (200, 303):
                created += 1
            else:
                failures.append(f"{prefix}{i:05d}: HTTP {res.status}")


start = time.monotonic()
threads = [threading.Thread(target=worker) for _ in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    sys.exit(f"sign-up failed: {failures[0]}")
print(created, f"{time.monotonic() - start:.0f}")
