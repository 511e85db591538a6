#!/usr/bin/env bash
# Records benches/recordings/node-load-1s-5min.om.zst: node_exporter on 127.0.0.1:19100,
# scraped every second for 300 s while bounded, varied load runs.
set -euo pipefail
cd "$(dirname "$0")"
PORT=19100
prometheus-node-exporter --web.listen-address=127.0.0.1:$PORT >/tmp/nodeexp.log 2>&1 &
NE=$!
trap 'kill $NE 2>/dev/null || true' EXIT
sleep 2
python3 record.py http://127.0.0.1:$PORT/metrics 300 node-load-1s-5min.om &
REC=$!
# load phases (all bounded in time)
sleep 20
timeout 40 stress-ng --cpu 1 --cpu-load 40 --quiet || true
timeout 30 bash -c 'while true; do dd if=/dev/urandom bs=1M count=32 2>/dev/null | gzip -1 > /tmp/rec-load.gz; done' || true
timeout 40 bash -c 'while true; do curl -s http://127.0.0.1:'$PORT'/metrics > /dev/null; done' || true
timeout 30 stress-ng --vm 1 --vm-bytes 512M --quiet || true
timeout 30 bash -c 'while true; do dd if=/dev/zero of=/tmp/rec-load.bin bs=1M count=256 conv=fsync 2>/dev/null; rm -f /tmp/rec-load.bin; done' || true
rm -f /tmp/rec-load.gz /tmp/rec-load.bin
wait $REC
zstd -q -19 -f --rm node-load-1s-5min.om -o node-load-1s-5min.om.zst
