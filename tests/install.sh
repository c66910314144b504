#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine, and nothing when it is all there:
# the README's test command and CI (.ci/run) both call it first.
#
#   age            the stock CLI that opens legal exports
#   xmllint        validates the NCMEC XML against NCMEC's schema
#   gdb            the sandbox test attaches a debugger (it must be refused)
#   prlimit        runs daemons under a locked-memory limit
#   chromium, certutil/pk12util   the browser suite: Debian's Chromium presenting staff certificates
#   node, npm      drive that Chromium (playwright-core) and check accessibility (axe-core)
#   MediaWiki, PHP a real wiki for the wiki client's tests (tests/mediawiki/start.sh)
#   systemd-analyze  the unit check in CI
#
# Debian packages need root (CI runs as root); without it the script names what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v age >/dev/null || need+=(age)
command -v xmllint >/dev/null || need+=(libxml2-utils)
command -v gdb >/dev/null || need+=(gdb)
command -v prlimit >/dev/null || need+=(util-linux)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v chromium >/dev/null || need+=(chromium)
command -v pk12util >/dev/null || need+=(libnss3-tools)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
[ -f /usr/share/mediawiki/maintenance/install.php ] \
    || need+=(mediawiki php-cli php-sqlite3 php-mbstring php-intl php-xml)

if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "tests/install.sh: missing Debian packages; as root run: apt-get install ${need[*]}" >&2
        exit 1
    fi
    echo "tests/install.sh: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The browser suite's packages, exactly as locked (nothing is fetched when they are in place).
lock=tests/browser/package-lock.json
stamp=tests/browser/node_modules/.installed-from-lock
if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
    cp "$lock" "$stamp"
fi
