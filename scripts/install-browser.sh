#!/usr/bin/env bash
# The browser tests drive a real chromium. Playwright's own browser download does not work
# everywhere, so we use the distribution's chromium (Debian/Ubuntu: apt-get install chromium).
set -euo pipefail
if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then exit 0; fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -x "$candidate" ] && exit 0
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing chromium for the browser tests…" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
