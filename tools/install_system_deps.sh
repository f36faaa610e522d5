#!/bin/sh
# The Debian packages some tests use, installed before `make test` (never by `make lab`):
#   chromium      the browser test (tests/browser/) drives it through Playwright
#   redis-server  tests against a real Redis 7 use it when present (else the bundled one)
# As root on Debian, installs whichever is missing; otherwise prints one line saying what
# is missing, and those tests skip. Does nothing, quickly, when both are there.
# CHROMIUM / REDIS_SERVER override the paths looked at (tests use that).
set -u
chromium=${CHROMIUM:-/usr/bin/chromium}
redis=${REDIS_SERVER:-/usr/bin/redis-server}
missing=""
[ -x "$chromium" ] || missing="$missing chromium"
[ -x "$redis" ] || missing="$missing redis-server"
[ -z "$missing" ] && exit 0

uid=${COURSEKIT_AS_UID:-$(id -u)}
if [ "$uid" = 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
    echo ">> installing Debian packages the tests use:$missing"
    if apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
        exit 0
    fi
    echo ">> could not install$missing with apt-get: the tests that need them will skip"
else
    echo ">> not installed:$missing (Debian packages; as root: sh tools/install_system_deps.sh): the tests that need them will skip"
fi
exit 0
