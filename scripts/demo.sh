#!/usr/bin/env bash
# The main job on the embedded default: installs product dependencies, builds, then
# `kormo run` (real Korean/English text fetched through apt-get download) into runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
KORMO_SKIP_TEST_DEPS=1 bash scripts/setup.sh
./build/kormo run --out runs/demo "$@"
echo "demo: done; outputs and manifest.json in runs/demo (check with: ./build/kormo verify runs/demo)"
