#!/usr/bin/env bash
# Rebuild the shipped default agent (checkpoints/gotolocal) from scratch: reward-free data from
# babyai:GoToLocal, then level 0 (JEPA, 4000 steps) and the critic. About 12 minutes on 2 CPU cores.
# Usage: scripts/build_default_checkpoint.sh [HAGENT]   (HAGENT defaults to .venv/bin/hagent)
set -euo pipefail
cd "$(dirname "$0")/.."
hagent="${1:-.venv/bin/hagent}"
"$hagent" collect --world babyai:GoToLocal --episodes 1000 --seed 0 --out data/gotolocal
"$hagent" train --data data/gotolocal --out checkpoints/gotolocal --seed 0
