#!/usr/bin/env bash
# `npm run test:e2e [-- mocha args, e.g. --grep preset]`: the packaged extension in a real VS Code.
# Ensures Chromium (apt-get when root), code-server 4.100.3 (cached, see scripts/lib/code-server.mjs) and
# playwright-core; packs the VSIX from the current sources; runs every test/e2e/*.e2e.ts with mocha. Screenshots and
# logs land in test-artifacts/e2e/. Whatever it starts (code-server, extension hosts, Chromium) is stopped at the end.
#   CTLENS_E2E_SPECS="a.e2e.ts …"  run these files instead of every test/e2e/*.e2e.ts
#   CTLENS_E2E_NO_PACKAGE=1   reuse .vscode-e2e/ctlens-e2e.vsix from the last run (faster while writing specs)
#   CTLENS_CHROMIUM=PATH      another Chromium; CTLENS_E2E_CHROMIUM_ARGS="--disable-3d-apis" for every session
#   CTLENS_CODE_SERVER_DIR    where code-server is cached (default ~/.cache/ctlens/code-server-4.100.3)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD/.vscode-e2e
ART=$PWD/test-artifacts/e2e
T0=$(date +%s)
say() { echo "[e2e $(( $(date +%s) - T0 ))s] $*" >&2; }

CHROMIUM=${CTLENS_CHROMIUM:-$(command -v chromium || command -v chromium-browser || echo /usr/bin/chromium)}
if [ ! -x "$CHROMIUM" ]; then
  say "Chromium not found; installing Debian's chromium"
  bash scripts/apt-install.sh chromium || { echo "end-to-end tests need Chromium: apt-get install chromium (or set CTLENS_CHROMIUM)" >&2; exit 1; }
  CHROMIUM=$(command -v chromium)
fi
node -e "require.resolve('playwright-core')" 2>/dev/null || { echo "playwright-core is missing: run npm install" >&2; exit 1; }

# code-server builds native modules on first use: ensureCodeServer installs the apt packages it needs (root or
# passwordless sudo; scripts/lib/system-deps.mjs) or stops with the one command to run.
node -e "import('./scripts/lib/code-server.mjs').then(m => m.ensureCodeServer()).catch(e => { console.error(e.message); process.exit(1); })"

mkdir -p "$ROOT"
VSIX=$ROOT/ctlens-e2e.vsix
if [ "${CTLENS_E2E_NO_PACKAGE:-}" = 1 ] && [ -f "$VSIX" ]; then
  say "reusing $VSIX"
else
  say "packaging the extension"
  node scripts/package.mjs --out "$VSIX" > "$ROOT/package.log" 2>&1 || { tail -30 "$ROOT/package.log" >&2; exit 1; }
  tail -1 "$ROOT/package.log" >&2
fi

# Fresh scratch and artifacts; keep only the VSIX.
find "$ROOT" -mindepth 1 -maxdepth 1 ! -name ctlens-e2e.vsix ! -name package.log -exec rm -rf {} +
rm -rf "$ART" && mkdir -p "$ART"

say "running specs"
status=0
CTLENS_E2E_ROOT=$ROOT CTLENS_E2E_ARTIFACTS=$ART CTLENS_E2E_VSIX=$VSIX CTLENS_CHROMIUM=$CHROMIUM \
  node_modules/.bin/mocha --config test/e2e/.mocharc.json ${CTLENS_E2E_SPECS:-test/e2e/*.e2e.ts} "$@" || status=$?
say "done (exit $status); screenshots and logs in ${ART#$PWD/}"
exit $status
