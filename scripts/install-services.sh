#!/usr/bin/env bash
# The cluster tests start real servers on loopback: PostgreSQL from Debian's package (Ray comes
# from PyPI, with the dev requirements). Installed here when missing.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then exit 0; fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing postgresql for the cluster tests…" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
