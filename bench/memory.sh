#!/usr/bin/env bash
# Memory of `takedown serve` at idle and after a burst of requests, read from /proc.
# The after-load figure is reported as a ratio to the idle figure of the same process, so it
# says "grows by x" independently of the machine.
#
# Usage: bench/memory.sh [path/to/takedown built with --features demo] [requests]
# Default binary: target/release/takedown (build it with: cargo build --release --features demo)
set -euo pipefail
binary=$(realpath "${1:-target/release/takedown}")
requests=${2:-2000}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$binary" demo --dir "$work/demo" --listen 127.0.0.1:0 > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 100); do grep -q '^ready ' "$work/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^ready \(https:[^ ]*\)$/\1/p' "$work/out")
sleep 1
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
idle_rss=$(rss VmRSS)

pki="$work/demo/pki"
# One curl process, many requests: keep-alive over a few connections, like a browser.
for _ in $(seq "$requests"); do echo "url = \"$url\""; echo 'output = "/dev/null"'; done > "$work/curl.cfg"
start=$(date +%s.%N)
curl -s --no-progress-meter --parallel --parallel-max 6 --cacert "$pki/ca.crt" --cert "$pki/staff/dmca-agent.crt" \
    --key "$pki/staff/dmca-agent.key" --config "$work/curl.cfg"
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
sleep 1
loaded_rss=$(rss VmRSS)
peak=$(rss VmHWM)
served=$(grep -c 'status=200' "$work/err" || true)

echo "binary:              $(basename "$binary") ($(stat -c %s "$binary") bytes)"
echo "idle RSS:            ${idle_rss} KiB"
echo "RSS after ${served} requests: ${loaded_rss} KiB (peak ${peak} KiB)"
awk -v l="$loaded_rss" -v i="$idle_rss" 'BEGIN { printf "growth ratio:        %.2f x idle\n", l / i }'
awk -v n="$served" -v t="$elapsed" 'BEGIN { printf "throughput:          %d requests/s over 6 connections (curl, loopback)\n", n / t }'
