"""Ablation: what removing the anti-collapse terms does to the representation and to success.

    python benchmarks/ablation_anticollapse.py --data data/gotolocal [--steps 3000] [--episodes 100] [--quick]

Trains level 0 (and its critic) twice on the same reward-free data and seed: once with the
default VICReg variance/covariance (+ step-difference) terms, once with all of them set to 0.
Reports effective rank, per-dimension std, prediction loss and, on held-out seeds of
babyai:GoToLocal, success rate and SPL. Writes benchmarks/results/ablation_anticollapse.json.
The agent plans from observations and the instruction only (no peeking); seeds 1000+ are held
out from the collection seeds (which are hashed from the collection's master seed).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from hagent.acting import Agent
from hagent.collect import collect
from hagent.config import CollectConfig, load_config
from hagent.evaluate import evaluate
from hagent.training.pipeline import train

VARIANTS = {
    "default (VICReg var+cov, step-difference terms)": [],
    "no anti-collapse (var=cov=delta=0)": ["train.jepa.var_weight=0", "train.jepa.cov_weight=0", "train.jepa.delta_weight=0"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="dataset from hagent collect (default: collect babyai:GoToLocal here)")
    parser.add_argument("--world", default="babyai:GoToLocal")
    parser.add_argument("--steps", type=int, default=3000, help="JEPA training steps per variant")
    parser.add_argument("--episodes", type=int, default=100, help="held-out evaluation episodes per variant")
    parser.add_argument("--seed", type=int, default=1000, help="first held-out evaluation seed")
    parser.add_argument("--quick", action="store_true", help="tiny everything, for smoke tests")
    parser.add_argument("--json", default="benchmarks/results/ablation_anticollapse.json")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.episodes = 20, 2

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp) / "data"
        if not args.data:
            collect(args.world, data, CollectConfig(episodes=16 if args.quick else 1000), seed=0, progress=not args.quick)
        rows = []
        for name, overrides in VARIANTS.items():
            extra = ["train.decoder.episodes=0"]  # the plan decoder is not what this measures
            if args.quick:
                extra += ["train.critic.steps=50", "critic.hidden=32", "train.hazard.steps=0", "train.abstract.steps=0"]
            cfg = load_config(None, [*overrides, *extra, f"train.steps={args.steps}"])
            out = Path(tmp) / f"ckpt{len(rows)}"
            start = time.perf_counter()
            result = train(cfg, data, out, command="benchmarks/ablation_anticollapse.py", progress=not args.quick)
            seconds = time.perf_counter() - start
            report = evaluate(Agent.load(out), args.world, args.episodes, args.seed, progress=not args.quick)
            s = report.summary()
            f = result.final
            rows.append(
                {
                    "variant": name,
                    "overrides": overrides,
                    "train_seconds": round(seconds, 1),
                    "eff_rank": round(f["eff_rank"], 2),
                    "dim": f["dim"],
                    "std": round(f["std"], 3),
                    "pred_loss": f["pred_loss"],
                    "critic_val_mae": f.get("critic_val_mae"),
                    "success_rate": s["success_rate"],
                    "spl": s["spl"],
                    "median_planning_ms": s["median_planning_ms"],
                }
            )
            r = rows[-1]
            print(
                f"{name:50s} rank {r['eff_rank']:5.1f}/{r['dim']}  std {r['std']:.3f}  pred {r['pred_loss']:.4f}  "
                f"critic MAE {r['critic_val_mae'] or float('nan'):.2f}  success {r['success_rate']:.1%}  "
                f"SPL {r['spl'] if r['spl'] is None else round(r['spl'], 3)}"
            )
    doc = {
        "benchmark": "ablation_anticollapse",
        "world": args.world,
        "steps": args.steps,
        "episodes": args.episodes,
        "first_seed": args.seed,
        "quick": args.quick,
        "rows": rows,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
