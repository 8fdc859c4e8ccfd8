#!/usr/bin/env bash
# First step of `npm test`: the Debian packages the tests compare against (nibabel, PyTorch, dcm2niix, pydicom + gdcm),
# Chromium for the end-to-end tests and the tools code-server builds with. Installs the missing ones with apt-get as
# root or with passwordless sudo (one line says what and why); otherwise stops with the exact command to run.
# No-op when all are installed; on a machine without dpkg/apt it says so and the tests that need them skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(python3-torch python3-onnx python3-numpy python3-nibabel python3-scipy python3-pytest
  chromium ripgrep libkrb5-dev pkg-config build-essential
  dcm2niix python3-pydicom python3-gdcm)
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "[ctlens] no apt here: install the Debian packages ${PKGS[*]} (or their equivalents) yourself; tests that need one skip without it" >&2
  exit 0
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[ctlens] the tests compare with reference tools and drive a real VS Code; missing Debian packages: ${missing[*]}" >&2
bash scripts/apt-install.sh "${missing[@]}"
