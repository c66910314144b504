#!/usr/bin/env bash
# Memory of `takedown serve` (the production binary) at idle and after a burst of requests,
# read from /proc. The after-load figure is reported as a ratio to the idle figure of the same
# process, so it says "grows by x" independently of the machine.
#
# Usage: bench/memory.sh [SERVE_BINARY] [DEMO_BINARY] [REQUESTS]
#   SERVE_BINARY  the binary measured (default target/release/takedown, the production build)
#   DEMO_BINARY   a --features demo build, used only to create a PKI (default target/debug/takedown)
set -euo pipefail
serve_binary=$(realpath "${1:-target/release/takedown}")
demo_binary=$(realpath "${2:-target/debug/takedown}")
requests=${3:-2000}
work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

wait_ready() {
    for _ in $(seq 100); do grep -q '^ready ' "$1" 2>/dev/null && return; sleep 0.1; done
    echo "did not start"; cat "$2"; exit 1
}

# Let the demo write its PKI, roster and config, then stop it.
"$demo_binary" demo --dir "$work/demo" --listen 127.0.0.1:0 > "$work/demo.out" 2> "$work/demo.err" &
pid=$!
wait_ready "$work/demo.out" "$work/demo.err"
kill "$pid"; wait "$pid" 2>/dev/null || true

"$serve_binary" serve --config "$work/demo/takedown.toml" > "$work/out" 2> "$work/err" &
pid=$!
wait_ready "$work/out" "$work/err"
url=$(sed -n 's/^ready \(https:[^ ]*\)$/\1/p' "$work/out")
sleep 1
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
idle_rss=$(rss VmRSS)

pki="$work/demo/pki"
# One curl process, many requests: keep-alive over a few connections, like a browser.
for _ in $(seq "$requests"); do echo "url = \"$url\""; echo 'output = "/dev/null"'; done > "$work/curl.cfg"
start=$(date +%s.%N)
curl -s --no-progress-meter --parallel --parallel-max 6 --cacert "$pki/ca.crt" \
    --cert "$pki/staff/dmca-agent.crt" --key "$pki/staff/dmca-agent.key" --config "$work/curl.cfg"
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
sleep 1
loaded_rss=$(rss VmRSS)
peak=$(rss VmHWM)
served=$(grep -c 'status=200' "$work/err" || true)

echo "binary:              $serve_binary ($(stat -c %s "$serve_binary") bytes)"
echo "idle RSS:            ${idle_rss} KiB"
echo "RSS after ${served} requests: ${loaded_rss} KiB (peak ${peak} KiB)"
awk -v l="$loaded_rss" -v i="$idle_rss" 'BEGIN { printf "growth ratio:        %.2f x idle\n", l / i }'
awk -v n="$served" -v t="$elapsed" 'BEGIN { printf "throughput:          %d requests/s over 6 connections (curl, loopback)\n", n / t }'
