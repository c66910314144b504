#!/usr/bin/env bash
# P2: new mTLS connections per second, each a full handshake (client certificate included),
# against nginx with the same certificates; a second nginx in the same rounds is the noise
# control. Goal: >= 0.9x nginx.
#
# The client is `openssl s_time -new` (several at once): `oha` keeps one TLS session cache for
# all its connections, so it resumes sessions wherever a server offers resumption (the appliance
# does, rustls's default; nginx here does not) and would compare resumptions with full handshakes.
# Each connection fetches the stylesheet, the cheapest page behind mTLS. The clients share one
# core, which they can saturate before either server does (handshakes/s then near 1.0x): CPU per
# handshake, read from each server's own process, is the figure that does not depend on it.
#
# Usage: bench/p2-handshakes.sh [SECONDS] [CLIENTS] [ROUNDS]   (defaults 4 8 5)
secs=${1:-4} clients=${2:-8} rounds=${3:-5}
source "$(dirname "$0")/common.sh"
make_demo
start_app
get "$app_url/static/style.css" "$work/style.css"
start_nginx "$work/style.css"

# One run against server `name`: prints "handshakes/s cpu_us_per_handshake".
handshakes() { # name
    local n=$1 t0 t1 i
    local address=${URL[$n]#https://}
    t0=$(ticks "${PID[$n]}")
    for i in $(seq "$clients"); do
        taskset -c 1 openssl s_time -connect "$address" -new -time "$secs" -www /static/style.css \
            -CAfile "$CA" -cert "$CCRT" -key "$CKEY" >"$work/s_time.$i" 2>/dev/null &
    done
    wait
    t1=$(ticks "${PID[$n]}")
    cat "$work"/s_time.* | awk -v secs="$secs" -v cpu="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '
        / connections in [0-9.]+ real seconds/ { n += $1 }
        END { rate = n / secs; printf "%.1f %.1f\n", rate, (rate > 0 ? cpu / hz * 1e6 / n : 0) }'
    rm -f "$work"/s_time.*
}
echo "stylesheet: $(stat -c %s "$work/style.css") bytes; $clients clients at once, a full handshake per connection; ${secs}s per run"
rows=$work/p2.rows
in_rounds "$rounds" "$rows" handshakes
python3 - "$rows" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = st.median
f = lambda xs: f"median {med(xs):.2f} (range {min(xs):.2f}-{max(xs):.2f})"
print(f"P2 full mTLS handshakes: {len(rows)} rounds")
print(f"  appliance {med([r[0] for r in rows]):.0f}/s, {med([r[1] for r in rows]):.0f} us CPU each; nginx {med([r[2] for r in rows]):.0f}/s, {med([r[3] for r in rows]):.0f} us CPU each")
print(f"  handshakes/s appliance/nginx {f([r[0] / r[2] for r in rows])}   control nginx2/nginx {f([r[4] / r[2] for r in rows])}")
print(f"  CPU each     appliance/nginx {f([r[1] / r[3] for r in rows])}   control nginx2/nginx {f([r[5] / r[3] for r in rows])}")
PY
