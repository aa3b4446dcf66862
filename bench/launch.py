#!/usr/bin/env python3
"""Launch-latency benchmark client for the local backend (standard library only).

Usage: launch.py BASE_URL COOKIE COUNT [SECONDS]
Launches the demo environment COUNT times, one after another, each with two secrets (one as a
variable, one as a file), and stops each session right after. With SECONDS it instead keeps
launching and stopping for that long (the background load of the page benchmark). Prints one
line: launches done, client round-trip p50/p99 of a launch, and of a stop, in ms.
"""

import json
import sys
import time
import urllib.parse
import urllib.request

from benchlib import percentile

FORM = {
    "environment": "demo",
    "secrets[0][secret]": "BENCH_ENV",
    "secrets[0][mode]": "env",
    "secrets[1][secret]": "BENCH_FILE",
    "secrets[1][mode]": "file",
}


def post(base, cookie, path, fields):
    req = urllib.request.Request(
        base + path,
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Cookie": cookie},
        method="POST",
    )
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read() or b"null")


def main():
    base, cookie, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else None
    for name in ("BENCH_ENV", "BENCH_FILE"):
        try:
            post(base, cookie, "/api/secrets/create", {"name": name, "value": "v" * 64})
        except urllib.error.HTTPError:
            pass  # already there from an earlier round
    rtts, stops = [], []
    deadline = time.monotonic() + seconds if seconds else None
    while (deadline and time.monotonic() < deadline) or (not deadline and len(rtts) < count):
        t0 = time.perf_counter()
        session = post(base, cookie, "/api/sessions/launch", FORM)
        rtts.append((time.perf_counter() - t0) * 1000)
        assert session["status"] == "running", session
        t0 = time.perf_counter()
        post(base, cookie, "/api/sessions/stop", {"id": session["id"]})
        stops.append((time.perf_counter() - t0) * 1000)
    print(f"{len(rtts)} {percentile(rtts, 50):.2f} {percentile(rtts, 99):.2f} "
          f"{percentile(stops, 50):.2f} {percentile(stops, 99):.2f}")


if __name__ == "__main__":
    main()
