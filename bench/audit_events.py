#!/usr/bin/env python3
"""Prints SQL that inserts N realistic audit events (`bench/run audit`), for `sqlite` or
`postgres`, unsealed (no seq, no MAC): the server seals them into the hash chain with its own
code at the next start (see bench/run). Deterministic (a multiplicative hash of the row number, not
random()), so both databases get the same events.

Usage: audit_events.py sqlite|postgres N END_MS

Shape: N events over the 90 days before END_MS, in time order; 2 000 users, 30 % of events from
50 busy ones (user0000-user0049); actions weighted like a working team's log (secret.used 40 %,
session start/stop 25 %, sign-ins 18 %, secret changes 10 %, the rest tokens, projects and admin
actions); targets, details, sessions and client addresses filled as the server fills them.
"""
import sys

dialect, n, end_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
span = 90 * 24 * 3600 * 1000
start = end_ms - span


def h(k):  # a cheap deterministic hash of the row number i, in [0, 2^32)
    mults = [2654435761, 2246822519, 3266489917, 668265263, 374761393]
    return f"((i * {mults[k]} + {k * 7919 + 13}) % 4294967296)"


if dialect == "sqlite":
    pad = lambda e, w: f"printf('%0{w}d', {e})"
    series = f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n})"
    source = "FROM g"
    cat = "||"
else:
    pad = lambda e, w: f"lpad(({e})::text, {w}, '0')"
    series = ""
    source = f"FROM generate_series(1::bigint, {n}::bigint) AS i"
    cat = "||"

user = f"(CASE WHEN {h(0)} % 100 < 30 THEN {h(1)} % 50 ELSE {h(1)} % 2000 END)"
bucket = f"({h(2)} % 1000)"
actions = [
    (400, "secret.used"), (520, "session.started"), (640, "session.stopped"),
    (650, "session.failed"), (800, "login.succeeded"), (830, "login.failed"),
    (880, "secret.created"), (930, "secret.replaced"), (950, "secret.deleted"),
    (960, "token.first_used"), (970, "token.created"), (975, "namespace_secret.used"),
    (980, "project.member_added"), (985, "environment.updated"), (990, "user.created"),
    (995, "admin.session.stopped"), (1000, "user.disabled"),
]
action = "CASE " + " ".join(f"WHEN b < {lim} THEN '{a}'" for lim, a in actions) + " END"
secret = f"'SECRET_' {cat} {pad(h(3) + ' % 100', 3)}"
session = f"'s-' {cat} {pad('i / 6', 7)}"
name = f"'user' {cat} {pad('u', 4)}"

select = f"""
SELECT {start} + i * {span // n} + {h(4)} % 1000 AS at,
       CASE WHEN a = 'login.failed' AND u % 5 = 0 THEN NULL ELSE 'id-' {cat} {name} END,
       CASE WHEN a = 'login.failed' AND u % 5 = 0 THEN NULL ELSE {name} END,
       a,
       CASE WHEN a LIKE 'secret.%' OR a = 'namespace_secret.used' THEN {secret}
            WHEN a LIKE 'session.%' OR a = 'admin.session.stopped' THEN {session}
            WHEN a LIKE 'login.%' THEN {name}
            WHEN a LIKE 'token.%' THEN 'token-' {cat} {pad(h(3) + ' % 10', 2)}
            WHEN a LIKE 'user.%' THEN 'user' {cat} {pad(h(3) + ' % 2000', 4)}
            ELSE 'default' END,
       CASE WHEN a = 'secret.used' THEN 'session ' {cat} {session} {cat} ' as env ' {cat} {secret}
            WHEN a = 'session.started' THEN 'environment default'
            WHEN a = 'session.failed' THEN 'exited with status 1'
            ELSE NULL END,
       '10.0.' {cat} ({h(3)} % 256) {cat} '.' {cat} ({h(4)} % 256),
       CASE WHEN a = 'secret.used' OR a LIKE 'session.%' THEN {session} ELSE NULL END
FROM (SELECT i, {user} AS u, {action} AS a FROM (SELECT i, {bucket} AS b {source}) AS x) AS y
ORDER BY i"""

print("BEGIN;")
print(f"{series}\nINSERT INTO audit_events (at, actor_id, actor_name, action, target, detail, "
      f"client_addr, session_id){select};")
print("COMMIT;")
