#!/usr/bin/env bash
# The main job on the embedded default: installs product dependencies, builds, then
# `kormo run` (real Korean/English text fetched through apt-get download) into runs/demo/:
# curation, held-out split, teacher-free instruction data, tokenizer, three pretraining
# phases, SFT, evaluation and export; it ends with the report's path and one answer of the
# SFT model in Korean.
set -euo pipefail
cd "$(dirname "$0")/.."
# Idle OpenMP threads sleep instead of spinning: on shared or small machines spinning
# threads steal the cores the working ones need (docs/engine.md, "Threads").
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
KORMO_SKIP_TEST_DEPS=1 bash scripts/setup.sh
./build/kormo run --out runs/demo "$@"
echo "demo: done; report in runs/demo/report.html, model in runs/demo/export/ (check with: ./build/kormo verify runs/demo)"
