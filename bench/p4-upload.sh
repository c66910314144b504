#!/usr/bin/env bash
# P4: a 100 MB upload through mTLS into the daemon's locked media memory against nginx reading
# the same body whole (a WebDAV PUT into a file in /dev/shm), over mTLS with the same
# certificates; a second nginx in the same rounds is the noise control. Goal: >= 0.7x nginx's
# throughput; the daemon's peak RSS <= media + 64 MiB. The daemon's upload is a child-protection
# "send to NCMEC" form (the CSRF token first, as it requires) for a case that does not exist: the
# whole body is received into locked memory before the handler answers 404. One connection, one
# upload at a time (curl); the throughput is body bytes / curl's total time.
#
# Usage: bench/p4-upload.sh [MEGABYTES] [ROUNDS]   (defaults 100 5)
megabytes=${1:-100} rounds=${2:-5}
source "$(dirname "$0")/common.sh"
make_demo
# The child-protection agent may send media (DMCA documents have a smaller share of the budget).
CCRT=$pki/staff/cp-agent.crt CKEY=$pki/staff/cp-agent.key
# The demo holds 64 MiB of media at most; a production default holds 256 MiB.
sed -i 's/^media_budget_mib = .*/media_budget_mib = 256/' "$work/demo/takedown.toml"
start_app
echo ok >"$work/ok"
start_nginx "$work/ok"
get "$app_url/cp/new" "$work/form.html"
app_path=/cases/00000000000000000000000000000000/ncmec
token=$(grep -o 'name="csrf_token" value="[^"]*"' "$work/form.html" | head -n1 | sed 's/.*value="\([^"]*\)"/\1/')
[[ -n $token ]] || { echo "no CSRF token on /cp/new" >&2; exit 1; }
boundary=takedownbench$RANDOM$RANDOM
{
    printf -- '--%s\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n' "$boundary" "$token"
    printf -- '--%s\r\nContent-Disposition: form-data; name="media"; filename="bench.bin"\r\n' "$boundary"
    printf 'Content-Type: application/octet-stream\r\n\r\n'
    head -c "$((megabytes * 1000 * 1000))" /dev/urandom
    printf -- '\r\n--%s--\r\n' "$boundary"
} >"$work/body"
size=$(stat -c %s "$work/body")

post() { # name: prints "MB/s http_status"
    local how=(-H "Content-Type: multipart/form-data; boundary=$boundary" "${URL[$1]}$app_path")
    [[ $1 == app ]] || how=(-X PUT "${URL[$1]}/upload")
    taskset -c 1 curl -s -o /dev/null -w '%{time_total} %{http_code}\n' --cacert "$CA" --cert "$CCRT" --key "$CKEY" \
        --data-binary "@$work/body" "${how[@]}" |
        awk -v s="$size" '{ printf "%.1f %s\n", s / $1 / 1e6, $2 }'
}
rows=$work/p4.rows
in_rounds "$rounds" "$rows" post
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$app_pid/status")
python3 - "$rows" "$size" "$hwm" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
size, hwm = int(sys.argv[2]), int(sys.argv[3])
app = [float(r[0]) for r in rows]; n1 = [float(r[2]) for r in rows]; n2 = [float(r[4]) for r in rows]
f = lambda xs: f"median {st.median(xs):.2f} (range {min(xs):.2f}-{max(xs):.2f})"
print(f"P4 upload of {size / 1e6:.0f} MB: {len(rows)} rounds; daemon answered {sorted(set(r[1] for r in rows))}, nginx {sorted(set(r[3] for r in rows))}")
print(f"  appliance {st.median(app):.0f} MB/s, nginx {st.median(n1):.0f} MB/s")
print(f"  throughput appliance/nginx {f([a / b for a, b in zip(app, n1)])}   control nginx2/nginx {f([a / b for a, b in zip(n2, n1)])}")
limit = size / 1024 + 64 * 1024
print(f"  daemon peak RSS {hwm / 1024:.0f} MiB; media + 64 MiB = {limit / 1024:.0f} MiB: {'within' if hwm <= limit else 'OVER'}")
PY
