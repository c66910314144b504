#!/usr/bin/env bash
# Opens the demo in headless Chromium with each demo staff certificate, as a person would, and
# checks what the page says (and keeps a screenshot of each in $OUT for a human to look at).
#
# Needs: Debian's chromium and libnss3-tools (certutil, pk12util), root (for the managed policy
# that picks the client certificate), and a takedown binary built with the demo feature.
# Usage: tests/browser/run.sh path/to/takedown [OUT_DIR]
set -euo pipefail
binary=$(realpath "$1")
out=$(realpath -m "${2:-target/browser}")
mkdir -p "$out"
work=$(mktemp -d)
policy_dir=/etc/chromium/policies/managed
policy="$policy_dir/takedown-browser-test.json"
demo_pid=
cleanup() {
    [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null || true
    rm -f "$policy"
    rm -rf "$work"
}
trap cleanup EXIT

"$binary" demo --dir "$work/demo" --listen 127.0.0.1:0 > "$work/demo.out" 2> "$work/demo.err" &
demo_pid=$!
for _ in $(seq 100); do grep -q '^ready ' "$work/demo.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^ready \(https:[^ ]*\)$/\1/p' "$work/demo.out")
[ -n "$url" ] || { cat "$work/demo.err"; echo "demo did not start"; exit 1; }
password=$(cat "$work/demo/pki/p12-password")
origin=${url%/}

mkdir -p "$policy_dir"
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"%s\\",\\"filter\\":{}}"]}\n' "$origin" > "$policy"

failures=0
# Loads the page at path $2 (default /) as `login`; leaves its DOM in $out/$login$3.html and a
# screenshot beside it.
load() {
    local login=$1 path=${2:-/} name=$1${3:-} home="$work/home-$1"
    if [ ! -d "$home/.pki/nssdb" ]; then
        mkdir -p "$home/.pki/nssdb"
        certutil -N -d "sql:$home/.pki/nssdb" --empty-password
        certutil -A -n takedown-demo-ca -t "C,," -i "$work/demo/pki/ca.crt" -d "sql:$home/.pki/nssdb"
        pk12util -i "$work/demo/pki/staff/$login.p12" -d "sql:$home/.pki/nssdb" -W "$password" >/dev/null
    fi
    local flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$home/profile" --window-size=1100,800)
    HOME=$home timeout 60 chromium "${flags[@]}" --dump-dom "$origin$path" > "$out/$name.html" 2>/dev/null || true
    HOME=$home timeout 60 chromium "${flags[@]}" --screenshot="$out/$name.png" "$origin$path" >/dev/null 2>&1 || true
}

# login, what the page must contain, what it must not contain[, path, file-name suffix]
check() {
    local login=$1 want=$2 refuse=$3 path=${4:-/} name=$1${5:-}
    load "$login" "$path" "${5:-}"
    if grep -q -- "$want" "$out/$name.html" && ! grep -q -- "$refuse" "$out/$name.html"; then
        echo "ok   $login $path: page shows \"$want\""
    else
        echo "FAIL $login $path: expected \"$want\" and not \"$refuse\"; page was:"; head -c 600 "$out/$name.html"; echo
        failures=$((failures + 1))
    fi
}

check dmca-agent  'Dana Mercer (dmca-agent)'             'Staff roster'
check cp-agent    '<span class="role">child-protection</span>' 'Staff roster'
check approver    '<span class="role">approver</span>'    'Staff roster'
check auditor     'href="/staff">Staff roster'            'not on the staff roster'
check exporter    '<span class="role">exporter</span>'    'Staff roster'
check outsider    'Your certificate is not on the staff roster' 'class="who"'
# The demo's two sample cases: each person sees the kinds their roles open.
check exporter    '<td>Child protection</td>'             'more case(s)'  /cases -cases
check dmca-agent  '1 more case(s)'                        '<td>Child protection</td>' /cases -cases
case_path=$(grep -o 'href="/cases/[0-9a-f]\{32\}"' "$out/exporter-cases.html" | head -1 | cut -d'"' -f2)
check exporter    'Download encrypted export'             'No such case'  "${case_path:-/cases/none}" -case
check auditor     'Your viewing of this page is recorded' 'Download encrypted export' "${case_path:-/cases/none}" -case
# The DMCA form, without scripts, and the sample DMCA case with its steps.
check dmca-agent  'Record the request'                    'Not allowed'   /dmca/new -dmca-form
check cp-agent    'needs the dmca role'                      'Record the request' /dmca/new -dmca-form
dmca_path=$(grep -o 'href="/cases/[0-9a-f]\{32\}"' "$out/dmca-agent-cases.html" | head -1 | cut -d'"' -f2)
check dmca-agent  'data-step="lumen"'                     'No such case'  "${dmca_path:-/cases/none}" -dmca-case
# The child-protection form, and the sample report waiting for approval.
check cp-agent    'Record the report for approval'        'Not allowed'   /cp/new -cp-form
check dmca-agent  'needs the child-protection role'       'Record the report for approval' /cp/new -cp-form
check approver    '<td>Child protection</td>'             '<td>DMCA</td>' /cases -cases
cp_path=$(grep -o 'href="/cases/[0-9a-f]\{32\}"' "$out/approver-cases.html" | head -1 | cut -d'"' -f2)
check approver    'Approve the release to NCMEC'          'No such case'  "${cp_path:-/cases/none}" -cp-case
# The revoked certificate never gets a page: the handshake fails and the server says why.
load revoked
if grep -q "TLS handshake refused: invalid peer certificate: Revoked" "$work/demo.err" \
    && ! grep -q "Robin Vale" "$out/revoked.html"; then
    echo "ok   revoked: handshake refused as revoked, no page"
else
    echo "FAIL revoked: expected a refused handshake"; tail -5 "$work/demo.err"
    failures=$((failures + 1))
fi

echo "screenshots in $out"
[ "$failures" -eq 0 ] || { echo "$failures browser check(s) failed"; exit 1; }
echo "15 passed, 0 failed"
