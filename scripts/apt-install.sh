#!/usr/bin/env bash
# Install the Debian/Ubuntu packages named as arguments that are not installed yet (used by .ci/run and
# test/e2e/run.sh). Retries while another apt/dpkg holds the lock (fresh cloud machines run unattended upgrades at
# boot). Needs root, or passwordless sudo; otherwise prints the command to run and fails.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "missing packages: ${missing[*]} (no apt-get here: install them with your package manager)" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=(sudo -n); else
    echo "missing packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
echo "[apt] installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
updated=0
for attempt in $(seq 1 40); do
  if [ $updated -eq 0 ]; then "${SUDO[@]}" apt-get update -qq && updated=1 || true; fi
  if [ $updated -eq 1 ] && "${SUDO[@]}" apt-get install -y -qq "${missing[@]}"; then exit 0; fi
  echo "[apt] apt-get failed (attempt $attempt, dpkg may be locked by another apt); retrying in 15 s" >&2
  sleep 15
done
echo "[apt] could not install ${missing[*]}" >&2
exit 1
