"""What a CPU protocol teaches per minute: EPE relative to zero flow on each dataset, per row.

Run: ``FLOWSYNTH_DATA_ROOT=... python benchmarks/bench_learning.py [--rows boxes deformations]
[--candidates cpu wide-batch ...] [--out out/bench-learning]``.

Each candidate is a :class:`flowsynth.ablation.flow.FlowPreset` (model, width, recipe scale,
crop, batch, learning rate, steps, threads). For each one the script trains the given rows with
one seed, two runs at once (one torch thread each, as the ``cpu`` preset runs them), evaluates
on every real dataset under the data root and the held-out synthetic set at the candidate's
scale, and prints, per row, the training minutes and each column's EPE divided by zero flow's
(below 1: the model beats zero flow). The ``cpu`` preset is the candidate that keeps 9 rows x 3
seeds within 90 minutes on 2 cores and learns most; the others are kept here to compare.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from flowsynth.ablation.flow import run_flow_ablation
from flowsynth.ablation.presets import PRESETS, FlowPreset

BASE = PRESETS["cpu"]

#: Candidate protocols; ``cpu`` is the preset as shipped.
CANDIDATES: dict[str, FlowPreset] = {
    "cpu": BASE,
    "full-size-frames": replace(BASE, name="full-size-frames", scale=1.0, crop=(256, 384)),
    "batch8-lr4e-4": replace(BASE, name="batch8-lr4e-4", batch=8, lr=4e-4, steps=700),
    "scale0.375": replace(BASE, name="scale0.375", scale=0.375, crop=(96, 160), batch=8),
    "narrow-long": replace(BASE, name="narrow-long", width=0.25, steps=2400),
    "ema0.99": replace(BASE, name="ema0.99", ema=0.99),
    "cpu-long": PRESETS["cpu-long"],
    "ema0.998-lr1.2e-3": replace(BASE, name="ema0.998-lr1.2e-3", ema=0.998, lr=1.2e-3),
}


def _ratios(results: dict) -> dict[str, dict[str, float]]:
    """``{row: {column: model EPE / zero-flow EPE}}`` of a one-seed ablation."""
    table, zero = results["summary"], results["zero_flow"]
    return {
        row: {
            column: cell["mean"] / zero[column]
            for column, cell in columns.items()
            if cell["mean"] is not None and zero.get(column)
        }
        for row, columns in table.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", default=["boxes", "deformations"])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--out", type=Path, default=Path("out/bench-learning"))
    args = parser.parse_args()
    for name in args.candidates:
        preset = CANDIDATES[name]
        results = run_flow_ablation(args.out / name, preset=preset, seeds=1, rows=args.rows)
        seconds = {
            run["row"]: run.get("train_seconds", float("nan")) for run in results.get("runs", [])
        }
        for row, ratios in _ratios(results).items():
            cells = "  ".join(f"{c} {r:.2f}" for c, r in sorted(ratios.items()))
            print(
                f"{name:<18} {row:<14} train {seconds.get(row, float('nan')) / 60:5.1f} min  "
                f"EPE / zero flow: {cells}",
                flush=True,
            )
        (args.out / name / "ratios.json").write_text(json.dumps(_ratios(results), indent=2))


if __name__ == "__main__":
    main()
