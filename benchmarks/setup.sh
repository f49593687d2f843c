#!/usr/bin/env bash
# The benchmark environment: levinthal plus the peers it is compared with. Peers are never
# project dependencies; they live only in .bench-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .bench-venv
.bench-venv/bin/pip install --quiet torch==2.13.0
.bench-venv/bin/pip install --quiet -e .
# peers (install commands documented at the top of each benchmark script)
.bench-venv/bin/pip install --quiet -r benchmarks/peers.txt
