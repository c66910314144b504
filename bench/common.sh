# Shared by the p*.sh benchmarks (sourced, not run): a demo PKI and config, the production
# daemon started on it, two identical nginx (the reference and its control) serving the same
# bytes over mTLS with the same certificates, and an `oha` run that reports requests/s, p99 and
# CPU per request of the server it loads.
#
# Servers are pinned to core 0 and the load client to core 1, so that they do not share a core.
# Each figure is a ratio measured in the same round; a round measures the appliance, nginx and the
# control nginx in a rotated order, and the scripts report the median over rounds with the
# control's own ratio beside it (two identical nginx differ by ±20% on this machine).

set -euo pipefail

serve_binary=$(realpath "${SERVE_BINARY:-target/release/takedown}")
demo_binary=$(realpath "${DEMO_BINARY:-target/debug/takedown}")
work=$(mktemp -d -t takedown-bench.XXXXXX)
# Memory-backed scratch for what nginx receives (P4).
shm=$(mktemp -d -p /dev/shm takedown-bench.XXXXXX)
chmod 711 "$shm"
app_pid=
declare -A URL PID

cleanup() {
    [[ -n $app_pid ]] && kill "$app_pid" 2>/dev/null || true
    for n in n1 n2; do
        [[ -f $work/$n/nginx.pid ]] && kill "$(cat "$work/$n/nginx.pid")" 2>/dev/null || true
    done
    sleep 0.2
    rm -rf "$work" "$shm"
}
trap cleanup EXIT

need() {
    command -v "$1" >/dev/null || { echo "needs $1: $2" >&2; exit 2; }
}
need nginx "apt-get install -y nginx"
need oha "cargo install oha --locked"
need taskset "apt-get install -y util-linux"

wait_ready() { # stdout-file stderr-file
    for _ in $(seq 300); do grep -q '^ready ' "$1" 2>/dev/null && return; sleep 0.1; done
    echo "the daemon did not start:" >&2; cat "$2" >&2; exit 1
}

# Lets the demo write its PKI, roster, config and sample cases, then stops it.
make_demo() {
    "$demo_binary" demo --dir "$work/demo" --listen 127.0.0.1:0 >"$work/demo.out" 2>"$work/demo.err" &
    local pid=$!
    wait_ready "$work/demo.out" "$work/demo.err"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pki=$work/demo/pki
    CA=$pki/ca.crt CCRT=$pki/staff/dmca-agent.crt CKEY=$pki/staff/dmca-agent.key
    SCRT=$pki/server.crt SKEY=$pki/server.key
}

# Starts the production daemon on the demo's config, pinned to core 0; sets app_pid and app_url.
start_app() {
    "$serve_binary" serve --config "$work/demo/takedown.toml" >"$work/app.out" 2>"$work/app.err" &
    app_pid=$!
    wait_ready "$work/app.out" "$work/app.err"
    app_url=$(sed -n 's/^ready \(https:[^ ]*\)$/\1/p' "$work/app.out")
    app_url=${app_url%/}
    taskset -a -p -c 0 "$app_pid" >/dev/null
    PID[app]=$app_pid
    URL[app]=$app_url
}

get() { # url output-file
    curl -sf --cacert "$CA" --cert "$CCRT" --key "$CKEY" -o "$2" "$1"
}

# Two identical nginx serving `file` at every path over mTLS with the daemon's certificate and CA.
start_nginx() { # file
    for n in n1 n2; do
        # nginx's workers run as nobody (no `user` directive): they may pass through the work directory (0700
        # from mktemp) to the page, and read nothing else there.
        chmod 711 "$work"
        mkdir -p "$work/$n/root" "$shm/$n/tmp" "$shm/$n/up"
        chown -R nobody "$shm/$n"
        chmod 755 "$work/$n" "$work/$n/root"
        cp "$1" "$work/$n/root/page"
        chmod 644 "$work/$n/root/page"
        local port=$((30000 + RANDOM % 20000))
        cat >"$work/$n/nginx.conf" <<CONF
worker_processes 1;
pid $work/$n/nginx.pid;
error_log $work/$n/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$port ssl http2;
    ssl_certificate $SCRT;
    ssl_certificate_key $SKEY;
    ssl_client_certificate $CA;
    ssl_verify_client on;
    ssl_protocols TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
    root $work/$n/root;
    location / { try_files /page =404; add_header Cache-Control no-store; }
    # P4: an upload read whole (PUT, into a file in memory, overwritten each time).
    location = /upload {
      dav_methods PUT;
      client_body_temp_path $shm/$n/tmp;
      alias $shm/$n/up/body;
    }
  }
}
CONF
        taskset -c 0 nginx -c "$work/$n/nginx.conf" -p "$work/$n" -e "$work/$n/error.log"
        URL[$n]="https://127.0.0.1:$port"
    done
    sleep 0.5
    for n in n1 n2; do PID[$n]=$(pgrep -P "$(cat "$work/$n/nginx.pid")" | head -n1); done
}

declare -A compare_paths
compare_options=()
compare_one() { # seconds connections name
    load "$3" "${compare_paths[$3]}" "$1" "$2" "${compare_options[@]}"
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One oha run against server `name` at `path`: prints "req/s p99_ms cpu_us_per_request".
load() { # name path seconds connections [oha options…]
    local n=$1 path=$2 secs=$3 conns=$4
    shift 4
    local t0 t1 out
    t0=$(ticks "${PID[$n]}")
    out=$(taskset -c 1 oha --no-tui --output-format json -z "${secs}s" -c "$conns" \
        --cacert "$CA" --cert "$CCRT" --key "$CKEY" "$@" "${URL[$n]}$path" 2>/dev/null)
    t1=$(ticks "${PID[$n]}")
    python3 - "$out" "$t0" "$t1" "$secs" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); rate = d["summary"]["requestsPerSec"] or 0.0
ok = sum(v for k, v in d.get("statusCodeDistribution", {}).items() if k.startswith("2"))
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / float(sys.argv[5]) * 1e6 / max(rate * float(sys.argv[4]), 1)
p99 = (d.get("latencyPercentiles") or {}).get("p99") or 0.0
print("%.1f %.3f %.1f %d" % (rate, p99 * 1000, cpu, ok))
PY
}

# Runs `measure… NAME` for the appliance, nginx and the control nginx in each of `count` rounds,
# in a rotated order so that no server is always measured first; writes "app n1 n2" rows.
in_rounds() { # count rows-file measure…
    local count=$1 rows=$2 i n order
    shift 2
    : >"$rows"
    for i in $(seq "$count"); do
        case $((i % 3)) in 1) order="app n1 n2" ;; 2) order="n1 n2 app" ;; 0) order="n2 app n1" ;; esac
        declare -A R=()
        for n in $order; do R[$n]=$("$@" "$n"); done
        echo "${R[app]} ${R[n1]} ${R[n2]}" >>"$rows"
    done
}

# Runs `rounds` rounds of app / n1 / n2 with `oha` and prints medians and ratios.
compare() { # label app-path nginx-path seconds connections rounds [oha options…]
    local label=$1 secs=$4 conns=$5 rounds=$6
    compare_paths=([app]=$2 [n1]=$3 [n2]=$3)
    compare_options=("${@:7}")
    local rows=$work/$label.rows
    in_rounds "$rounds" "$rows" compare_one "$secs" "$conns"
    python3 - "$label" "$rows" <<'PY'
import sys, statistics as st
label = sys.argv[1]
rows = [list(map(float, l.split())) for l in open(sys.argv[2])]
# columns: app rate p99 cpu ok | n1 rate p99 cpu ok | n2 rate p99 cpu ok
med = lambda xs: st.median(xs)
def f(xs): return f"median {med(xs):.2f} (range {min(xs):.2f}-{max(xs):.2f})"
div = lambda a, b: a / b if b else float("nan")
print(f"{label}: {len(rows)} rounds")
print(f"  appliance {med([r[0] for r in rows]):.0f} req/s, p99 {med([r[1] for r in rows]):.2f} ms, "
      f"{med([r[2] for r in rows]):.0f} us CPU/req ({int(sum(r[3] for r in rows))} answered 2xx)")
print(f"  nginx     {med([r[4] for r in rows]):.0f} req/s, p99 {med([r[5] for r in rows]):.2f} ms, "
      f"{med([r[6] for r in rows]):.0f} us CPU/req")
print(f"  throughput  appliance/nginx {f([div(r[0], r[4]) for r in rows])}   control nginx2/nginx {f([div(r[8], r[4]) for r in rows])}")
print(f"  CPU/request appliance/nginx {f([div(r[2], r[6]) for r in rows])}   control nginx2/nginx {f([div(r[10], r[6]) for r in rows])}")
print(f"  p99         appliance/nginx {f([div(r[1], r[5]) for r in rows])}   control nginx2/nginx {f([div(r[9], r[5]) for r in rows])}")
PY
}
