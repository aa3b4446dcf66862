#!/usr/bin/env python3
"""Requests per second inside and outside a time window, from a timeline written by
bench/timeline.lua ("unix_ms_of_100ms_bucket count" lines). Used by `bench/run rotation`.

Usage: window_rate.py TIMELINE FROM_MS TO_MS
Prints "inside_rps inside_seconds after_rps after_seconds": the rate in the buckets wholly inside
[FROM_MS, TO_MS), and in those after TO_MS (the first and last half second of the run are left out:
connections opening and closing).
"""
import sys

timeline, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buckets = {}
for line in open(timeline):
    b, n = line.split()
    buckets[int(b)] = buckets.get(int(b), 0) + int(n)
first, last = min(buckets) + 500, max(buckets) - 500


def rate(a, z):
    a, z = max(a, first), min(z, last + 100)
    keys = [b for b in range(a - a % 100, z, 100) if b >= a and b + 100 <= z]
    if not keys:
        return 0.0, 0.0
    return sum(buckets.get(b, 0) for b in keys) / (len(keys) / 10), len(keys) / 10


inside, inside_s = rate(lo, hi)
after, after_s = rate(hi, last + 100)
print(f"{inside:.0f} {inside_s:.1f} {after:.0f} {after_s:.1f}")
