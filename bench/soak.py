#!/usr/bin/env python3
"""Soak: many concurrent clients mixing every kind of request, then a check that nothing
acknowledged was lost.

Usage: bench/soak.py [--binary target/release/lockbox] [--database-url URL] [--clients 500]
                     [--seconds 60] [--users 50]
Builds nothing (`bench/run soak` builds the server first). Starts the server on 127.0.0.1:3953
with a fresh data directory (and the given PostgreSQL database, if any), signs up the users, then
runs the clients (users x clients-per-user, each on its own keep-alive connection) for the given
time. Each client loops over a weighted mix: the settings page, the sessions page and the signed-in
home page, the secrets list, creating a secret, replacing one of its own, launching a session of
the demo environment with one of its secrets and stopping it, and signing in (each client names its
own address through a trusted proxy, so the per-address throttle applies per client).

Afterwards it lists every user's secrets and checks that each acknowledged create is there and
that each secret's `updated_at` is the one its last acknowledged replace returned (every client
writes only secrets it created, so that is the expected state).

Fails (exit 1) on any 5xx, any dropped connection or unreadable answer, or any lost write; 4xx
answers are counted by status and operation and reported (limits: live sessions, sign-in 429s).
Prints a Markdown section: answers, per-operation p50/p99, and the server's RSS before, peak during,
and 10 s after. Needs aiohttp (installed with pip when missing).
"""

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import percentile, rss_kib, server_env, start_server, stop_server

try:
    import aiohttp
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "aiohttp"])
    import aiohttp

PORT = 3953
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "correct horse battery staple"

# (operation, weight)
MIX = [
    ("settings page", 30),
    ("sessions page", 5),
    ("home page", 5),
    ("list", 10),
    ("create", 20),
    ("replace", 20),
    ("launch+stop", 5),
    ("sign-in", 5),
]


class Tally:
    def __init__(self):
        self.latency = {op: [] for op, _ in MIX}
        self.statuses = {}  # (op, status) -> count
        self.failures = []  # descriptions of 5xx, drops and unreadable answers

    def answer(self, op, status, seconds):
        self.latency[op].append(seconds * 1000)
        self.statuses[(op, status)] = self.statuses.get((op, status), 0) + 1
        if status >= 500:
            self.failures.append(f"{op}: {status}")


class Client:
    """One simulated user agent: its own connection, the user's cookie, its own secrets."""

    def __init__(self, index, user, cookie, tally):
        self.index = index
        self.user = user
        self.cookie = cookie
        self.tally = tally
        self.address = f"198.18.{index // 250}.{index % 250 + 1}"
        self.created = 0
        self.mine = {}  # name -> updated_at of the last acknowledged write

    async def call(self, http, op, method, path, form=None, cookie=True):
        headers = {"X-Forwarded-For": self.address}
        if cookie:
            headers["Cookie"] = self.cookie
        if method == "POST":
            headers["Origin"] = BASE
        started = time.perf_counter()
        try:
            async with http.request(method, BASE + path, data=form, headers=headers) as res:
                body = await res.read()
                self.tally.answer(op, res.status, time.perf_counter() - started)
                if res.status == 200 and path.startswith("/api/"):
                    return res.status, (await res.json(content_type=None)) if body else None
                return res.status, None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
            self.tally.failures.append(f"{op}: {type(e).__name__}: {e}")
            return None, None

    async def step(self, http, op):
        if op == "settings page":
            await self.call(http, op, "GET", "/settings/secrets")
        elif op == "sessions page":
            await self.call(http, op, "GET", "/sessions")
        elif op == "home page":
            await self.call(http, op, "GET", "/")
        elif op == "list":
            await self.call(http, op, "POST", "/api/secrets/list", {})
        elif op == "create":
            name = f"SOAK_{self.index}_{self.created}"
            self.created += 1
            value = f"soak value {random.random()}" * random.randint(1, 8)
            status, meta = await self.call(
                http, op, "POST", "/api/secrets/create", {"name": name, "value": value}
            )
            if status == 200:
                self.mine[name] = meta["updated_at"]
        elif op == "replace":
            if not self.mine:
                return await self.step(http, "create")
            name = random.choice(list(self.mine))
            status, meta = await self.call(
                http, op, "POST", "/api/secrets/replace",
                {"name": name, "value": f"replaced {random.random()}"},
            )
            if status == 200:
                self.mine[name] = meta["updated_at"]
        elif op == "launch+stop":
            if not self.mine:
                return await self.step(http, "create")
            status, session = await self.call(
                http, op, "POST", "/api/sessions/launch",
                {
                    "environment": "demo",
                    "secrets[0][secret]": random.choice(list(self.mine)),
                    "secrets[0][mode]": random.choice(["env", "file"]),
                },
            )
            if status == 200:
                await self.call(http, op, "POST", "/api/sessions/stop", {"id": session["id"]})
        elif op == "sign-in":
            await self.call(
                http, op, "POST", "/api/login",
                {"username": self.user, "password": PASSWORD}, cookie=False,
            )

    async def run(self, deadline):
        ops = [op for op, _ in MIX]
        weights = [w for _, w in MIX]
        connector = aiohttp.TCPConnector(limit=1, force_close=False)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as http:
            while time.monotonic() < deadline:
                await self.step(http, random.choices(ops, weights)[0])


async def signup(http, username):
    async with http.post(
        BASE + "/api/signup",
        data={"username": username, "password": PASSWORD},
        headers={"Origin": BASE},
    ) as res:
        await res.read()
        assert res.status == 200, f"sign-up of {username}: {res.status}"
        cookie = res.cookies.get("lockbox_session")
        return f"lockbox_session={cookie.value}"


async def check_writes(clients):
    """Every acknowledged create is listed, with the `updated_at` of its last acknowledged write."""
    lost, stale = [], []
    by_user = {}
    for c in clients:
        by_user.setdefault(c.user, (c.cookie, []))[1].append(c)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for user, (cookie, owners) in by_user.items():
            async with http.post(
                BASE + "/api/secrets/list", data={}, headers={"Cookie": cookie, "Origin": BASE}
            ) as res:
                assert res.status == 200, f"listing {user}'s secrets: {res.status}"
                listed = {m["name"]: m["updated_at"] for m in await res.json()}
            for c in owners:
                for name, updated in c.mine.items():
                    if name not in listed:
                        lost.append(name)
                    elif listed[name] != updated:
                        stale.append(name)
    return lost, stale


async def soak(args, server):
    tally = Tally()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        users = [f"soak{i}" for i in range(args.users)]
        cookies = {}
        for u in users:
            cookies[u] = await signup(http, u)
    clients = [
        Client(i, users[i % len(users)], cookies[users[i % len(users)]], tally)
        for i in range(args.clients)
    ]
    await asyncio.sleep(3)
    rss_before = rss_kib(server.pid)
    peak = rss_before
    started = time.monotonic()
    deadline = started + args.seconds
    runs = [asyncio.create_task(c.run(deadline)) for c in clients]
    while not all(r.done() for r in runs):
        peak = max(peak, rss_kib(server.pid))
        await asyncio.sleep(0.25)
    for r in runs:
        r.result()  # a client that crashed is a bug in this script: let it show
    wall = time.monotonic() - started
    alive = server.poll() is None
    await asyncio.sleep(10)
    rss_after = rss_kib(server.pid)
    lost, stale = await check_writes(clients) if alive else (["(server died)"], [])
    return tally, wall, rss_before, peak, rss_after, lost, stale, alive, clients


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/lockbox")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="lockbox-soak-")
    env = server_env(
        data, PORT,
        LOCKBOX_TRUSTED_PROXIES="127.0.0.1",
        LOCKBOX_MAX_SECRETS=100000,
        LOCKBOX_MAX_LIVE_SESSIONS=50,
        LOCKBOX_SITE_ROOT=os.path.abspath("target/site") if os.path.isdir("target/site") else None,
        LOCKBOX_DATABASE_URL=args.database_url or None,
    )
    log = open(os.path.join(data, "server.log"), "w")
    server, _ = start_server(args.binary, env, log)
    try:
        result = asyncio.run(soak(args, server))
    finally:
        stop_server(server)
        log.close()
    tally, wall, before, peak, after, lost, stale, alive, clients = result
    database = "PostgreSQL" if args.database_url else "SQLite"
    total = sum(tally.statuses.values())
    non2xx = {}
    for (op, status), n in sorted(tally.statuses.items()):
        if status >= 300:
            non2xx[f"{op} {status}"] = n
    acknowledged = sum(len(c.mine) for c in clients)
    print(f"## Soak on {database}: {args.clients} clients ({args.users} users), {wall:.0f} s")
    print()
    print("| operation | answers | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    for op, _ in MIX:
        lat = tally.latency[op]
        print(f"| {op} | {len(lat)} | {percentile(lat, 50):.1f} | {percentile(lat, 99):.1f} |")
    print()
    print(f"- answers: {total} ({total / wall:.0f}/s); non-2xx: "
          + (", ".join(f"{k} × {n}" for k, n in non2xx.items()) or "none"))
    print(f"- 5xx, dropped connections or unreadable answers: {len(tally.failures)}"
          + (f" (first: {tally.failures[:5]})" if tally.failures else ""))
    print(f"- server alive at the end: {'yes' if alive else 'NO'}")
    print(f"- secrets acknowledged: {acknowledged}; missing afterwards: {len(lost)}; "
          f"with a write lost: {len(stale)}")
    print(f"- server RSS: {before // 1024} MiB before, {peak // 1024} MiB peak during, "
          f"{after // 1024} MiB 10 s after")
    ok = alive and not tally.failures and not lost and not stale
    if not ok:
        with open(os.path.join(data, "server.log")) as f:
            tail = f.readlines()[-20:]
        print("\nServer log tail:\n```\n" + "".join(tail) + "```")
    shutil.rmtree(data, ignore_errors=True)
    print()
    print("Passed." if ok else "**FAILED.**")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
