#!/usr/bin/env bash
# P7: cold start to serving with a store of many cases, idle RSS and binary size, each beside
# nginx measured the same way in the same run (start: from exec until a first mTLS request is
# answered; RSS: every process of the server, after the first request and a second's rest).
# The daemon verifies the whole audit chain before it serves, so its start grows with the log.
#
# Usage: bench/p7-start.sh [CASES] [ROUNDS]   (defaults 100000 5)
#   The store is filled by `cargo run --release --example fill_store`, once per run.
cases=${1:-100000} rounds=${2:-5}
source "$(dirname "$0")/common.sh"
make_demo
start_app
get "$app_url/static/style.css" "$work/style.css"
kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=
echo "filling the store with $cases cases…"
TAKEDOWN_FILL_DIR=$work/demo/data TAKEDOWN_FILL_IDENTITY=$work/demo/keys/store-identity \
    TAKEDOWN_FILL_INDEX_KEY=$work/demo/keys/index-key TAKEDOWN_FILL_CASES=$cases \
    cargo run -q --release --example fill_store 2>&1 | tail -n 1
start_nginx "$work/style.css"
kill "$(cat "$work/n2/nginx.pid")"; rm -f "$work/n2/nginx.pid"

now_ms() { date +%s%3N; }
until_served() { # url; returns when it answers
    until curl -sf --max-time 5 --cacert "$CA" --cert "$CCRT" --key "$CKEY" -o /dev/null "$1"; do sleep 0.005; done
}
tree_rss() { # pid: KiB of it and its children
    local total=0 p
    for p in $1 $(pgrep -P "$1" || true); do total=$((total + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status"))); done
    echo "$total"
}
rows=$work/p7.rows
: >"$rows"
for _ in $(seq "$rounds"); do
    # The page cache is warm after the first round: "cold" is the process, not the disk.
    t0=$(now_ms)
    "$serve_binary" serve --config "$work/demo/takedown.toml" >"$work/app.out" 2>"$work/app.err" &
    app_pid=$!
    # The demo config listens on port 0: the address is known once the daemon says "ready".
    until grep -q '^ready ' "$work/app.out"; do
        kill -0 "$app_pid" || { cat "$work/app.err" >&2; exit 1; }
        sleep 0.005
    done
    url=$(sed -n 's/^ready \(https:[^ ]*\)$/\1/p' "$work/app.out")
    until_served "${url%/}/static/style.css"
    t1=$(now_ms)
    sleep 1
    app_rss=$(tree_rss "$app_pid")
    kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; app_pid=
    kill "$(cat "$work/n1/nginx.pid")"; sleep 0.3
    t2=$(now_ms)
    nginx -c "$work/n1/nginx.conf" -p "$work/n1" -e "$work/n1/error.log"
    until_served "${URL[n1]}/"
    t3=$(now_ms)
    sleep 1
    nginx_rss=$(tree_rss "$(cat "$work/n1/nginx.pid")")
    echo "$((t1 - t0)) $((t3 - t2)) $app_rss $nginx_rss" >>"$rows"
done
python3 - "$rows" "$cases" "$serve_binary" "$(command -v nginx)" <<'PY'
import os, sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = lambda i: st.median(r[i] for r in rows)
print(f"P7 with {sys.argv[2]} cases, {len(rows)} rounds (medians; nginx is the reference)")
print(f"  start to serving  appliance {med(0):.0f} ms, nginx {med(1):.0f} ms: {med(0) / med(1):.1f}x "
      f"(range of the appliance {min(r[0] for r in rows):.0f}-{max(r[0] for r in rows):.0f} ms)")
print(f"  idle RSS          appliance {med(2) / 1024:.1f} MiB, nginx (master + worker) {med(3) / 1024:.1f} MiB: {med(2) / med(3):.1f}x")
a, n = os.path.getsize(sys.argv[3]), os.path.getsize(sys.argv[4])
print(f"  binary size       appliance {a / 2**20:.1f} MiB, nginx {n / 2**20:.1f} MiB (without its shared libraries): {a / n:.1f}x")
PY
