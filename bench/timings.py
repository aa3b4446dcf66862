#!/usr/bin/env python3
"""Reads the server's JSON log and prints server-side launch timings as a Markdown table row
set: time up to spawn (validation, records, decryption, spawn) and up to the first output."""

import json
import sys

from benchlib import percentile


spawn, first = {}, {}
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    fields = event.get("fields", {})
    if fields.get("message") == "session spawned":
        spawn[fields["session"]] = float(fields["to_spawn_ms"])
    elif fields.get("message") == "first output":
        first[fields["session"]] = float(fields["after_spawn_ms"])
both = [spawn[s] + first[s] for s in spawn if s in first]
print(f"| server time up to spawn | {len(spawn)} | {percentile(spawn.values(), 50):.2f} ms | "
      f"{percentile(spawn.values(), 99):.2f} ms |")
print(f"| server time up to first output | {len(both)} | {percentile(both, 50):.2f} ms | "
      f"{percentile(both, 99):.2f} ms |")
