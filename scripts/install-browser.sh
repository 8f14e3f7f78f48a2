#!/usr/bin/env bash
# The browser tests drive a real chromium. Playwright's own browser download does not work
# everywhere, so we use the distribution's chromium (Debian/Ubuntu: apt-get install chromium).
# Japanese pages need a CJK font, or chromium draws boxes: Debian's fonts-noto-cjk.
set -euo pipefail
need=()
have_chromium=""
if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then have_chromium=1; fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  [ -x "$candidate" ] && have_chromium=1
done
[ -n "$have_chromium" ] || need+=(chromium)
if ! fc-list :lang=ja 2>/dev/null | grep -q .; then need+=(fonts-noto-cjk); fi
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing ${need[*]} for the browser tests…" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
