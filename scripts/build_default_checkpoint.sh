#!/usr/bin/env bash
# Rebuild the shipped checkpoints from scratch, seed 0, on CPU:
#   checkpoints/gotolocal  level 0 + critic on babyai:GoToLocal (about 10 minutes on 2 cores)
#   checkpoints/default    the H-JEPA stack on five worlds: level 0 (fine-tuned from gotolocal),
#                          its critic, the hazard classifier, the step-hazard model, the blocked-step model, the cell
#                          probe, level 1 and its critic (about 30 minutes on 2 cores), then the
#                          plan decoder (about 11 minutes) and the language normalizer (about 8 minutes)
#   decoder                only (re)train checkpoints/default's plan decoder on its levels
#   normalizer             only (re)train checkpoints/default's language normalizer
# The same steps as `hagent train --preset default` (hagent/training/presets.py), which is the reference.
# Usage: scripts/build_default_checkpoint.sh [HAGENT] [gotolocal|default|decoder|normalizer|all]   (default: .venv/bin/hagent all)
set -euo pipefail
cd "$(dirname "$0")/.."
hagent="${1:-.venv/bin/hagent}"
which="${2:-all}"
# The critics are taught by the data alone (hagent/training/presets.py: DATA_CRITICS); the rule-based
# labels are only a named baseline for benchmarks, never what ships.
critics=(--set 'train.critic.labels="data"')
if [[ "$which" == gotolocal || "$which" == all ]]; then
  "$hagent" collect --world babyai:GoToLocal --episodes 1000 --seed 0 --out data/gotolocal
  "$hagent" train --data data/gotolocal --out checkpoints/gotolocal --seed 0 "${critics[@]}"
fi
if [[ "$which" == default || "$which" == all ]]; then
  worlds=("rooms:3x3?lava=4" "rooms:4x4" "babyai:GoTo" "minigrid:MiniGrid-LavaCrossingS9N1-v0" "babyai:Open")
  data=()
  for spec in "${worlds[@]}"; do
    dir="data/mix/$(echo "$spec" | tr ':?=' '___')"
    "$hagent" collect --world "$spec" --episodes 600 --seed 0 --workers 2 --out "$dir"
    data+=(--data "$dir")
  done
  "$hagent" train "${data[@]}" --init checkpoints/gotolocal --steps 1500 --seed 0 --out checkpoints/default --set train.threads=2 "${critics[@]}" \
    --set agent.task_weight=2.0
fi
if [[ "$which" == default || "$which" == all || "$which" == normalizer ]]; then
  "$hagent" train --normalizer-only --out checkpoints/default --seed 0 --set train.threads=2
fi
if [[ "$which" == decoder ]]; then
  "$hagent" train --decoder-only --out checkpoints/default --seed 0 --set train.threads=2
fi
