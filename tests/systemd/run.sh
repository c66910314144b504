#!/usr/bin/env bash
# The shipped unit under a real systemd (CI runs it; run it as root on Debian 12):
#
#   tests/systemd/run.sh [BINARY]        # default target/release/takedown (the production build)
#
# No systemd runs as PID 1 on the CI machines, so this boots one in a container: a Debian 12
# minbase root file system made by debootstrap, booted by systemd-nspawn. Into it go the release
# binary and systemd/takedown.service unchanged; the PKI, roster, keys and credentials are made
# inside it with `takedown pki`, `takedown keys` and `systemd-creds encrypt`, and the config is
# the shipped sample with only its address and legal counsel's key filled in. Then, each failure
# named and the unit's journal printed:
#   A. the sample config's memory model (its defaults) under the machine's 8 MiB locked-memory
#      limit: serve exits 78 naming the LimitMEMLOCK= it needs, and systemd does not restart it;
#   B. an unknown field: exit 78 naming the field, not restarted (systemd 252 applies
#      RestartPreventExitStatus= to the main process only: this failed while the unit checked
#      the config in ExecStartPre=);
#   C. the sample config with its memory model sized to that 8 MiB limit (fewer connections,
#      threads, a smaller cache and budgets; `[hardening]` as shipped: memory locked and Landlock
#      required): active, a staff request over mTLS from the host gets the home page with the
#      person's name, through the whole shipped sandbox — a dynamic (non-root) user in its own
#      user namespace (PrivateUsers=), memory locked, Landlock fully enforced, the system-call
#      filter on; `systemctl reload` reloads in the same process; `systemctl stop` drains and
#      exits 0.
#
# Time: debootstrap 1.5 to 2.5 minutes (once: the root file system is kept under
# $TAKEDOWN_CI_SCRATCH, which .ci/run makes for one run and deletes at its end; without it the
# script uses and deletes its own), then about 30 seconds. The container shares the host's
# network; the daemon listens on a free port of 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$(realpath "${1:-target/release/takedown}")
unit_file=$PWD/systemd/takedown.service
sample_config=$PWD/systemd/takedown.toml
start=$(date +%s)
say() { printf '[systemd test +%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

# C's memory model, sized to the CI machine's hard RLIMIT_MEMLOCK of 8 MiB (root cannot raise
# it, so systemd cuts the unit's LimitMEMLOCK= to it): `takedown check-config` prints its total.
small_model=(
    -e '/^\[server\]/a max_connections = 4\nform_budget_kib = 1024\nworker_threads = 1\nblocking_threads = 2\nthread_stack_kib = 512'
    -e '/^\[store\]/a cache_kib = 128'
    -e 's/^media_budget_mib = .*/media_budget_mib = 1/'
)

[ "$(id -u)" -eq 0 ] || { echo "tests/systemd/run.sh: run as root (debootstrap, systemd-nspawn)" >&2; exit 1; }
[ -x "$binary" ] || { echo "tests/systemd/run.sh: no binary $binary; cargo build --release first" >&2; exit 1; }
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- the root file system: debootstrapped once per CI run, copied for this test ----------------
own_scratch=
scratch=${TAKEDOWN_CI_SCRATCH:-}
if [ -z "$scratch" ]; then scratch=$(mktemp -d /var/tmp/takedown-systemd.XXXXXX); own_scratch=$scratch; fi
base=$scratch/systemd-rootfs
work=$(mktemp -d "$scratch/run.XXXXXX")
root=$work/rootfs
nspawn_pid= pid1= open_pid=

cleanup() {
    local status=$?
    [ -z "$open_pid" ] || kill "$open_pid" 2>/dev/null || true
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        # nspawn turns SIGTERM into an orderly shutdown of the container's systemd.
        kill -TERM "$nspawn_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$nspawn_pid" 2>/dev/null; then
            echo "the container did not shut down in 20 s; killing it"
            [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null   # ends every process of its PID namespace
            kill -KILL "$nspawn_pid" 2>/dev/null || true
        fi
        wait "$nspawn_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    [ -z "$own_scratch" ] || rm -rf "$own_scratch"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -e "$base/.complete" ]; then
    say "debootstrap bookworm (minbase, systemd, dbus, ca-certificates, procps) into $base"
    rm -rf "$base"
    # Besides systemd, what every ordinary Debian install has and the unit needs: the system's
    # trust roots for the outbound client (without them serve stops with "egress: cannot build
    # the lumen client: builder error") and /bin/kill for ExecReload= (procps).
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates,procps bookworm "$base" \
        http://deb.debian.org/debian >"$scratch/debootstrap.log" 2>&1 \
        || { tail -30 "$scratch/debootstrap.log"; echo "debootstrap failed"; exit 1; }
    touch "$base/.complete"
    say "debootstrap done"
fi
cp -a "$base" "$root"

install -m 0755 "$binary" "$root/usr/local/bin/takedown"
install -m 0644 "$unit_file" "$root/etc/systemd/system/takedown.service"
install -d -m 0755 "$root/etc/takedown" "$root/etc/takedown/tls" "$root/etc/takedown/credentials"

# --- boot ----------------------------------------------------------------------------------------
# --register=no: no machined on the host; the system-call filter option lets the daemon's
# Landlock, memfd_secret and memory-locking calls through nspawn's own filter (which allows
# mlock and mlockall only to a container holding CAP_IPC_LOCK; the daemon gets no capability).
say "booting the container"
systemd-nspawn --register=no --keep-unit --quiet \
    --system-call-filter="landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret @memlock" \
    -D "$root" -b --console=passive >"$work/console.log" 2>&1 &
nspawn_pid=$!

inside() { nsenter --target "$pid1" --all -- env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
journal() { inside journalctl -u takedown.service --no-pager -o short-precise "$@"; }
fail() {
    echo
    echo "FAILED: $*"
    if [ -n "$pid1" ]; then
        echo "--- journal of takedown.service ---"; journal || true
        echo "--- systemctl status takedown ---"; inside systemctl status --no-pager takedown || true
    else
        echo "--- container console ---"; tail -40 "$work/console.log"
    fi
    exit 1
}
# wait_for SECONDS WHAT COMMAND…: polls COMMAND every 0.2 s; fails naming WHAT.
wait_for() {
    local seconds=$1 what=$2; shift 2
    for _ in $(seq $(( seconds * 5 ))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    fail "$what (waited ${seconds} s)"
}

for _ in $(seq 100); do
    pid1=$(ps -o pid= --ppid "$nspawn_pid" | tr -d ' ' | head -1 || true)
    [ -n "$pid1" ] && [ "$(cat "/proc/$pid1/comm" 2>/dev/null)" = systemd ] && break
    pid1=; kill -0 "$nspawn_pid" 2>/dev/null || fail "systemd-nspawn exited"; sleep 0.2
done
[ -n "$pid1" ] || fail "the container's PID 1 did not appear"
# Until its D-Bus is up, systemctl cannot even ask; then "starting" until boot is done.
for _ in $(seq 300); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded | maintenance | stopping | offline) break ;; esac
    sleep 0.2
done
[ "$state" = running ] || { inside systemctl --failed --no-pager || true; fail "the container's systemd is '$state', not running"; }
say "container's systemd is running (host PID of its PID 1: $pid1)"

# --- PKI, roster, keys and credentials, made inside the container -----------------------------
port=
for candidate in $(shuf -i 20000-60000 -n 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null || { port=$candidate; break; }
done
[ -n "$port" ] || fail "no free port on 127.0.0.1"

inside sh -c 'umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d " \n" > /root/ca-passphrase'
inside takedown pki init --dir /root/staff-ca --organization "Takedown CI" --passphrase-file /root/ca-passphrase >/dev/null
issued=$(inside takedown pki issue --dir /root/staff-ca --login ci-staff --name "Casey Integration" \
    --email ci-staff@example.org --passphrase-file /root/ca-passphrase)
p12_password=$(sed -n 's/^\.p12 password.*: //p' <<<"$issued")
[ -n "$p12_password" ] || fail "takedown pki issue printed no .p12 password: $issued"
sed -n '/^\[\[staff\]\]/,$p' <<<"$issued" | sed 's/^roles = \[\].*/roles = ["dmca"]/' >"$root/etc/takedown/roster.toml"
grep -q '^certificates = \["[0-9a-f]\{64\}"\]' "$root/etc/takedown/roster.toml" || fail "no roster entry in: $issued"
install -m 0644 "$root/root/staff-ca/ca.crt" "$root/etc/takedown/tls/staff-ca.crt"
install -m 0644 "$root/root/staff-ca/crl.pem" "$root/etc/takedown/tls/staff-ca.crl"
cp "$root/root/staff-ca/staff/ci-staff.p12" "$work/ci-staff.p12"

# The server certificate comes from "whatever CA the browsers trust" (keys/README.md): here a
# self-signed one that curl is told to trust. Its key goes in as a credential like the others.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$root/root/server.key" \
    -out "$root/etc/takedown/tls/server.crt" 2>/dev/null
cp "$root/etc/takedown/tls/server.crt" "$work/server.crt"
inside takedown keys generate --out /root/store-identity >/dev/null
inside takedown keys generate-checkpoint-key --out /root/checkpoint-key >/dev/null
inside sh -c 'umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d " \n" > /root/index-key'
counsel=$(inside takedown keys generate --out /root/counsel-identity | sed -n 's/^public key: //p')
for name in server.key store-identity index-key checkpoint-key; do
    inside systemd-creds encrypt --name="$name" "/root/$name" "/etc/takedown/credentials/$name.cred" 2>/dev/null \
        || fail "systemd-creds encrypt $name failed"
    inside shred -u "/root/$name"
done

# The shipped sample config, with only what a deployment must fill in.
config=$root/etc/takedown/takedown.toml
write_config() {   # write_config [EXTRA SED ARGUMENTS…]
    sed -e "s#^listen = .*#listen = \"127.0.0.1:$port\"#" \
        -e "s#^legal_recipients = .*#legal_recipients = [\"$counsel\"]#" \
        "$@" "$sample_config" >"$config"
    chmod 0644 "$config"
}
say "PKI, roster, keys and credentials made inside the container; daemon port $port"

# --- helpers for the checks ----------------------------------------------------------------------
prop() { inside systemctl show -P "$1" takedown.service; }
mark() { since=$(inside journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'); }
journal_now() { journal --after-cursor="$since"; }
journal_has() { journal_now | grep -q -- "$1"; }
unit_failed() { [ "$(prop ActiveState)" = failed ]; }
unit_active() { [ "$(prop ActiveState)" = active ] && journal_has "serving"; }
staff_request() {   # staff_request LABEL: the home page over mTLS, with the staff certificate
    local code
    code=$(curl -sS --max-time 10 --cacert "$work/server.crt" --cert-type P12 \
        --cert "$work/ci-staff.p12:$p12_password" -o "$work/home.html" -w '%{http_code}' \
        "https://127.0.0.1:$port/") || fail "$1: curl could not reach https://127.0.0.1:$port/"
    [ "$code" = 200 ] || fail "$1: the home page answered $code, not 200"
    grep -q "Casey Integration" "$work/home.html" || fail "$1: the home page does not name the staff member"
    say "$1: staff request served (200, 'Casey Integration' on the home page)"
}
# serving PHASE: starts the unit, sends a staff request, and checks the daemon's process: a
# dynamic user, the system-call filter, no new privileges. Sets pid, status (its
# /proc/PID/status) and uid.
serving() {
    mark
    inside systemctl start takedown.service || fail "$1: systemctl start failed"
    wait_for 30 "$1: the unit did not become active and serving" unit_active
    pid=$(prop MainPID)
    staff_request "$1"
    status=$(inside cat "/proc/$pid/status")
    uid=$(awk '/^Uid:/ {print $2}' <<<"$status")
    [ "$uid" -ne 0 ] || fail "$1: the daemon runs as root, not as a dynamic user"
    # systemd's range for dynamic users (DynamicUser=), 61184-65519.
    [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "$1: uid $uid is not a dynamic user's"
    grep -q '^Seccomp:[[:space:]]*2' <<<"$status" || fail "$1: no seccomp filter on the daemon"
    grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$status" || fail "$1: NoNewPrivs is off"
}
# A failed start must stay failed: wait longer than systemd's restart delay (100 ms) times its
# burst (5), then count the restarts.
refused_once() {   # refused_once LABEL EXPECTED-JOURNAL-TEXT
    wait_for 20 "$1: the unit did not fail" unit_failed
    sleep 3
    [ "$(prop NRestarts)" = 0 ] || fail "$1: systemd restarted the unit $(prop NRestarts) time(s) after exit 78"
    unit_failed || fail "$1: the unit is $(prop ActiveState) after the failure, not failed"
    [ "$(prop ExecMainStatus)" = 78 ] || fail "$1: the daemon exited $(prop ExecMainStatus), not 78"
    journal_has "$2" || fail "$1: the journal does not say '$2'"
    say "$1: failed once with exit 78 ('$2' in the journal), NRestarts=0"
    inside systemctl reset-failed takedown.service
}

# --- A. the shipped unit and the sample's production [hardening] under an 8 MiB limit ---------
write_config
mark
inside systemctl start takedown.service || true
refused_once "A (the default memory model, 8 MiB memlock limit)" "set LimitMEMLOCK="

# --- B. a bad config is refused once, naming the field ---------------------------------------
write_config -e '/^\[server\]/a colour = "blue"'
mark
inside systemctl start takedown.service || true
refused_once "B (unknown field)" "server.colour"

# --- C. the memory model sized to the machine: the whole sandbox; start, serve, reload, stop ----
write_config "${small_model[@]}"
serving "C"
[ "$(inside readlink "/proc/$pid/ns/user")" != "$(inside readlink /proc/1/ns/user)" ] \
    || fail "C: the daemon shares systemd's user namespace (PrivateUsers= not in force)"
locked_kb=$(awk '/^VmLck:/ {print $2}' <<<"$status")
[ "$locked_kb" -gt 0 ] || fail "C: the daemon has no locked memory (VmLck 0)"
journal_has "sandbox in place memory=Locked landlock=Full" \
    || fail "C: the journal does not say 'sandbox in place memory=Locked landlock=Full'"
say "C: PID $pid, dynamic uid $uid in its own user namespace, VmLck ${locked_kb} kB, seccomp filter, landlock=Full"

mark
inside systemctl reload takedown.service || fail "C: systemctl reload failed"
wait_for 10 "C: the journal does not say the reload happened" journal_has "SIGHUP: reloaded"
[ "$(prop MainPID)" = "$pid" ] || fail "C: the daemon's PID changed on reload ($pid -> $(prop MainPID))"
staff_request "C after reload"
say "C: reloaded in the same process (PID $pid)"

# A staff connection kept open across the stop: answered, then drained rather than cut off.
openssl pkcs12 -in "$work/ci-staff.p12" -passin "pass:$p12_password" -nodes -out "$work/ci-staff.pem" 2>/dev/null
mkfifo "$work/open.in"
exec 4<>"$work/open.in"   # held open by this shell, so the connection stays up until the stop
openssl s_client -quiet -connect "127.0.0.1:$port" -cert "$work/ci-staff.pem" -CAfile "$work/server.crt" \
    <"$work/open.in" >"$work/open.out" 2>&1 &
open_pid=$!
printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&4
wait_for 10 "C: the connection kept open got no answer" grep -q '^HTTP/1.1 200' "$work/open.out"
mark
inside systemctl stop takedown.service || fail "C: systemctl stop failed"
journal_has "SIGTERM: shutting down" || fail "C: the journal does not show the SIGTERM shutdown"
journal_has "shutting down: draining 1 connection(s)" \
    || fail "C: the journal does not show the drain of the connection kept open"
! journal_has "cut off" || fail "C: connections were cut off at the drain timeout"
exec 4>&-
journal_has "stopped" || fail "C: the journal does not show the daemon stopped"
[ "$(prop Result)" = success ] || fail "C: the stop ended with result $(prop Result)"
[ "$(prop ExecMainStatus)" = 0 ] || fail "C: the daemon exited $(prop ExecMainStatus) on stop, not 0"
say "C: stopped: the open connection drained, exit 0"


cmp -s "$unit_file" "$root/etc/systemd/system/takedown.service" || fail "the installed unit differs from systemd/takedown.service"
echo "--- journal of takedown.service (this run) ---"
journal
say "passed"
