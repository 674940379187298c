"""Streaming a recipe into torch: samples/s with 0, 1, 2 DataLoader workers, and their scaling.

Run ``python benchmarks/bench_stream.py`` (``--quick`` for fewer batches). Renders
``ablation/deformations`` at 384x512 on the fly (``ProceduralFlowDataset`` + ``make_loader``,
batch 8, no augmentation) and prints samples/s and batches/s per worker count, timed from
creating the iterator (worker start included) to the last batch.

Scaling efficiency of K workers is ``rate(K) / (K * rate(1))``; the target is 0.9 (K workers at
least 0.9 K times one worker). OpenCV runs one thread per process, so one worker uses one core
and the comparison is between cores, not thread pools. On a machine shared with other jobs the
figures are noisy: compare the efficiency, not the absolute rates, between machines.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402

import cv2  # noqa: E402

# Before any worker is forked: a forked child calling setNumThreads after the parent used
# OpenCV's pool hangs, so the single-thread setting is made here, once.
cv2.setNumThreads(1)

from flowsynth.data.bench import stream_bench  # noqa: E402

TARGET_EFFICIENCY = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="ablation/deformations")
    parser.add_argument("--size", type=int, nargs=2, default=(384, 512), metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="4 batches per worker count")
    args = parser.parse_args()
    batches = 4 if args.quick else args.batches
    print(f"cores available: {len(os.sched_getaffinity(0))}, cv2 threads: {cv2.getNumThreads()}")
    results = {}
    for workers in args.workers:
        results[workers] = stream_bench(
            args.recipe, workers, args.batch, batches, (args.size[0], args.size[1])
        )
    if 1 in results:
        one = results[1]["samples_per_second"]
        for workers, result in results.items():
            if workers >= 2:
                efficiency = result["samples_per_second"] / (workers * one)
                verdict = "meets" if efficiency >= TARGET_EFFICIENCY else "misses"
                print(
                    f"{workers} workers: {efficiency:.2f} x ideal scaling of one worker "
                    f"({verdict} the {TARGET_EFFICIENCY} target)"
                )
                result["efficiency"] = efficiency
    print(json.dumps({str(k): v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    main()
