#!/usr/bin/env bash
# P1: a case page over mTLS with keep-alive against nginx serving the same bytes statically over
# mTLS with the same certificates; a second nginx in the same rounds is the noise control.
# Goal: throughput >= 0.8x nginx, p99 <= 1.5x.
#
# Usage: bench/p1-case-page.sh [SECONDS] [CONNECTIONS] [ROUNDS]   (defaults 4 32 5)
#   SERVE_BINARY (target/release/takedown) is measured; DEMO_BINARY (target/debug/takedown, a
#   --features demo build) only makes the PKI, config and the sample DMCA case.
secs=${1:-4} conns=${2:-32} rounds=${3:-5}
source "$(dirname "$0")/common.sh"
make_demo
start_app
get "$app_url/cases" "$work/list.html"
case_path=$(grep -o '/cases/[0-9a-f]\{16,\}' "$work/list.html" | head -n1)
[[ -n $case_path ]] || { echo "no case link on /cases" >&2; exit 1; }
get "$app_url$case_path" "$work/page.html"
start_nginx "$work/page.html"
echo "case page $case_path: $(stat -c %s "$work/page.html") bytes; $conns connections, keep-alive; ${secs}s per run"
compare "P1 case page (keep-alive)" "$case_path" "/" "$secs" "$conns" "$rounds"
