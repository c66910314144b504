#!/usr/bin/env bash
# Starts a throw-away MediaWiki (Debian's `mediawiki` package, SQLite, PHP's built-in server) on
# loopback for the real-wiki tests, and prints what the tests need, one `key=value` per line:
#   api=http://127.0.0.1:PORT/w/api.php   dir=DIR   pid=PID   bot_user=Admin@takedown   bot_password=...
# Usage: tests/mediawiki/start.sh DIR      (stop it with: kill PID; rm -rf DIR)
# The server binds port 0 and the port the kernel gave it is read back from its log, so no port
# is picked and released for another process to take in between.
# Needs: apt-get install mediawiki php-cli php-sqlite3 php-mbstring php-intl php-xml
set -euo pipefail
dir=$1
mw=/usr/share/mediawiki
[ -f "$mw/maintenance/install.php" ] || { echo "Debian's mediawiki package is not installed" >&2; exit 3; }
mkdir -p "$dir/data" "$dir/images" "$dir/www"
# Served under /w/ like Wikimedia's wikis (https://host/w/api.php), which the egress policy expects.
ln -sfn "$mw" "$dir/www/w"
php "$mw/maintenance/install.php" --dbtype=sqlite --dbpath="$dir/data" --dbname=testwiki \
    --server="http://127.0.0.1" --scriptpath=/w --confpath="$dir" --lang=en \
    --pass='Adm1n-Passw0rd-For-Tests!' TestWiki Admin >"$dir/install.log" 2>&1
cat >>"$dir/LocalSettings.php" <<PHP
# Added for Takedown's tests: nobody edits anonymously (an edit that silently went out logged
# out would otherwise "succeed"); uploads on, into this scratch directory.
\$wgGroupPermissions['*']['edit'] = false;
\$wgGroupPermissions['*']['createpage'] = false;
\$wgEnableUploads = true;
\$wgUploadDirectory = '$dir/images';
\$wgUploadPath = '/w/images';
\$wgFileExtensions[] = 'png';
\$wgMaxUploadSize = 10 * 1024 * 1024;
# Suppression (oversight) as Wikimedia grants it, for the suppression tests; Admin joins below.
\$wgGroupPermissions['suppress']['deleterevision'] = true;
\$wgGroupPermissions['suppress']['deletedhistory'] = true;
\$wgGroupPermissions['suppress']['suppressrevision'] = true;
\$wgGroupPermissions['suppress']['viewsuppressed'] = true;
\$wgGroupPermissions['suppress']['suppressionlog'] = true;
PHP
MW_CONFIG_FILE="$dir/LocalSettings.php" php "$mw/maintenance/createAndPromote.php" --force \
    --custom-groups=suppress Admin >>"$dir/install.log" 2>&1
# A bot password must match ^[0-9a-w]{32,}$, or action=login silently treats it as a main
# account password and fails with "Incorrect username or password".
bot_password=$(head -c 4096 /dev/urandom | tr -dc '0-9a-w' | head -c 32)
MW_CONFIG_FILE="$dir/LocalSettings.php" php "$mw/maintenance/createBotPassword.php" \
    --appid=takedown --grants=basic,editpage,createeditmovepage,highvolume,uploadfile,delete,oversight \
    Admin "$bot_password" >>"$dir/install.log" 2>&1
# With TAKEDOWN_MW_CAPTCHA=1: ConfirmEdit's FancyCaptcha, as Wikimedia runs it, with one image
# whose answer is known (FancyCaptcha names each image by a salt and the first 16 hex digits of
# md5(secret . salt . answer . secret . salt)), and an unprivileged account, Editor, that does not
# skip CAPTCHAs (the default trigger asks when an edit adds an external link).
if [ "${TAKEDOWN_MW_CAPTCHA:-}" = 1 ]; then
    captcha_secret=takedown-captcha-secret captcha_salt=0a1b2c3d captcha_word=lighthouse
    captcha_hash=$(printf '%s' "$captcha_secret$captcha_salt$captcha_word$captcha_secret$captcha_salt" \
        | md5sum | cut -c1-16)
    mkdir -p "$dir/captcha"
    base64 -d >"$dir/captcha/image_${captcha_salt}_${captcha_hash}.png" \
        <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=='
    cat >>"$dir/LocalSettings.php" <<PHP
wfLoadExtensions( [ 'ConfirmEdit', 'ConfirmEdit/FancyCaptcha' ] );
\$wgCaptchaSecret = '$captcha_secret';
\$wgCaptchaDirectory = '$dir/captcha';
\$wgCaptchaDirectoryLevels = 0;
PHP
    MW_CONFIG_FILE="$dir/LocalSettings.php" php "$mw/maintenance/createAndPromote.php" \
        Editor 'Ed1tor-Passw0rd-For-Tests!' >>"$dir/install.log" 2>&1
    editor_password=$(head -c 4096 /dev/urandom | tr -dc '0-9a-w' | head -c 32)
    MW_CONFIG_FILE="$dir/LocalSettings.php" php "$mw/maintenance/createBotPassword.php" \
        --appid=takedown --grants=basic,editpage,createeditmovepage \
        Editor "$editor_password" >>"$dir/install.log" 2>&1
    echo "editor_user=Editor@takedown"
    echo "editor_password=$editor_password"
    echo "captcha_word=$captcha_word"
fi
# The log exists before the server starts, so that reading it never races the redirection.
: >"$dir/server.log"
MW_CONFIG_FILE="$dir/LocalSettings.php" nohup php -S 127.0.0.1:0 -t "$dir/www" >>"$dir/server.log" 2>&1 &
pid=$!
port=
for _ in $(seq 50); do
    port=$(sed -n 's/.*Development Server (http:\/\/127\.0\.0\.1:\([0-9]*\)) started.*/\1/p' "$dir/server.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "php -S did not report its port: $(cat "$dir/server.log")" >&2; kill "$pid"; exit 4; }
# PHP's built-in server reads LocalSettings.php on every request: the real address from now on.
echo "\$wgServer = 'http://127.0.0.1:$port';" >>"$dir/LocalSettings.php"
ready=
for _ in $(seq 50); do
    if php -r "exit(@file_get_contents('http://127.0.0.1:$port/w/api.php?action=query&meta=siteinfo&format=json') ? 0 : 1);"; then
        ready=1
        break
    fi
    sleep 0.1
done
[ -n "$ready" ] || { echo "the wiki did not answer within 5 s: $(cat "$dir/server.log")" >&2; kill "$pid"; exit 5; }
echo "api=http://127.0.0.1:$port/w/api.php"
echo "dir=$dir"
echo "pid=$pid"
echo "bot_user=Admin@takedown"
echo "bot_password=$bot_password"
