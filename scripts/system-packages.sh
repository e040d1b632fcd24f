#!/usr/bin/env bash
# Installs the Debian packages that tests use beyond Python (run as root; CI calls it):
# promtool (prometheus) for the alert rules, nginx for deploy/'s tests, chromium and its driver for the admin
# pages seen in a browser, redis-server for the tests of the Redis paths that start one of their own.
# Installs only what is missing.
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v nginx >/dev/null || need+=(nginx)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
