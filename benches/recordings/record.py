#!/usr/bin/env python3
"""Scrapes a local node_exporter every second and writes OpenMetrics-style
lines `name{labels} value timestamp_seconds` (timestamp = scrape time, ms
precision).  Usage: record.py URL SECONDS OUT.om"""
import sys, time, urllib.request
url, secs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f:
    start = time.time()
    nxt = int(start) + 1.0
    for _ in range(secs):
        time.sleep(max(0.0, nxt - time.time()))
        ts = time.time()
        body = urllib.request.urlopen(url, timeout=5).read().decode()
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            f.write(f"{line} {ts:.3f}\n")
        nxt += 1.0
    f.write("# EOF\n")
