#!/usr/bin/env bash
# Installs the peers the benchmark in this folder compares Pixgate with, all under
# target/peers/ (never in git, never in CI). Idempotent: a step whose result is already there
# is skipped. Needs python3.11 (venv, pip), node 18+ with npm, and wrk (/usr/bin/wrk).
#
#   target/peers/venv          Pillow + numpy (make_inputs.py, run.py's checks), pyvips + pyvips-binary
#   target/peers/thumbor-venv  thumbor 7.x
#   target/peers/ipx           ipx 3 + sharp (node_modules)
#
# Usage: bash benches/peers/setup.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PEERS="$ROOT/target/peers"
PY="${PYTHON:-python3.11}"
mkdir -p "$PEERS"

if [ ! -x "$PEERS/venv/bin/python" ]; then
  "$PY" -m venv "$PEERS/venv"
fi
if ! "$PEERS/venv/bin/python" -c 'import PIL, numpy, pyvips' 2>/dev/null; then
  "$PEERS/venv/bin/python" -m pip install --quiet Pillow numpy pyvips pyvips-binary
fi

if [ ! -x "$PEERS/thumbor-venv/bin/thumbor" ]; then
  "$PY" -m venv "$PEERS/thumbor-venv"
  "$PEERS/thumbor-venv/bin/python" -m pip install --quiet 'thumbor>=7,<8'
fi

if [ ! -d "$PEERS/ipx/node_modules/ipx" ] || [ ! -d "$PEERS/ipx/node_modules/sharp" ]; then
  mkdir -p "$PEERS/ipx"
  cd "$PEERS/ipx"
  [ -f package.json ] || echo '{"name": "pixgate-peer-ipx", "private": true, "type": "module"}' > package.json
  npm install --no-audit --no-fund --silent 'ipx@^3' sharp
  cd "$ROOT"
fi

echo "installed under $PEERS:"
"$PEERS/venv/bin/python" -c 'import PIL, numpy, pyvips; print("  Pillow", PIL.__version__, "numpy", numpy.__version__, "pyvips", pyvips.__version__, "libvips %d.%d.%d" % (pyvips.version(0), pyvips.version(1), pyvips.version(2)))'
"$PEERS/thumbor-venv/bin/python" -c 'import thumbor; print("  thumbor", thumbor.__version__)'
(cd "$PEERS/ipx" && node -e 'const r = (p) => require("./node_modules/" + p + "/package.json").version; const s = require("sharp"); console.log("  ipx", r("ipx"), "sharp", r("sharp"), "libvips (sharp)", s.versions.vips)')
