"""Elastic deformation of an RGB image + uint8 label pair: flowsynth vs the remap floor and peers.

Run ``python benchmarks/bench_elastic.py`` (``--quick``: fewer repeats, no torchio, no 3D peers;
``--albumentationsx-python PATH``: also time AlbumentationsX from that environment). Everything
runs on one thread. Printed: milliseconds per pair (median), and ratios to the floor and to the
fastest peer in the same table. No assertions.

- flowsynth: ``sample_elastic_pair`` (U-Net 3x3 grid, sigma 10 px): field + one resampling of
  image and label + flow. "no flow": ``return_flow=False``, what a training loop that uses only
  image and label calls (the peers return only image and mask, too). The validity mask is
  computed when first read, and these rows do not read it (nor do the peers make one);
  "+ valid" reads it, for its cost. Also ``apply_displacement`` alone with a precomputed field.
- floor: one ``cv2.remap`` of the image (linear) and one of the label (nearest) with a
  precomputed float32 map: the least any method doing a smooth per-pixel warp pays.
- peers (benchmark-only dependencies, skipped with a message when missing): elasticdeform
  (``pip install --no-binary elasticdeform elasticdeform``), albumentations ``ElasticTransform``
  exact and approximate, torchio ``RandomElasticDeformation`` (needs ``torch==2.13.0``), and
  AlbumentationsX (its own environment: it shares the import name with albumentations).

Strength: each peer's strength parameter is scaled so that its field has the RMS displacement of
flowsynth's sigma-10 grid field (measured on the inner 60 % of the image by warping coordinate
ramps, averaged over samples). In-process methods are timed round-robin, call by call, so that
machine noise hits them alike; albumentations runs in a subprocess per environment, round-robin
with its own floor (its ratios use that floor) and, where flowsynth imports there (AlbumentationsX
environment with scipy), with flowsynth too: the "flowsynth beside ..." row is the head-to-head.

Allocator: glibc hands freed memory above a threshold back to the system and faults it in again
on the next allocation; the threshold grows with the largest block freed so far (up to 32 MiB).
So that no method pays for the history of the process, every process first allocates and frees
16 MiB, as a training process does with its first batches.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)
# Milliseconds; or (milliseconds, the floor timed beside it in another process); or why skipped.
Row = float | tuple[float, float] | str
Method = Callable[[], object]


def settle_allocator() -> None:
    """Allocate and free 16 MiB so that glibc keeps freed blocks of up to that size."""
    block = np.ones(16 << 20, dtype=np.uint8)
    del block


def version(package: str) -> str:
    """Installed version of ``package``, or '' if it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def round_robin(methods: dict[str, Method], repeats: int) -> dict[str, Row]:
    """Median milliseconds per call of each method, calling them in turn ``repeats`` times."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for method in methods.values():
        method()  # warm-up: caches, lazy imports, allocator
    for _ in range(repeats):
        for name, method in methods.items():
            start = time.perf_counter()
            method()
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def test_pair(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random RGB image and a label map of blobs, both ``size x size``."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8)
    image = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    label = cv2.resize(small[..., 0], (size, size), interpolation=cv2.INTER_NEAREST) // 32
    return image, label.astype(np.uint8)


def measured_rms(warp: Callable[[np.ndarray, int], np.ndarray], size: int, samples: int) -> float:
    """RMS displacement of ``warp(float32 (H, W, 3) coordinate ramps, seed)``, inner 60 %."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    ramps = np.stack([x, y, np.zeros_like(x)], axis=-1)
    inner = slice(size // 5, size - size // 5)
    squares = []
    for seed in range(samples):
        moved = warp(ramps, seed)[inner, inner, :2] - ramps[inner, inner, :2]
        squares.append(float((moved**2).sum(-1).mean()))
    return float(np.sqrt(np.mean(squares)))


def floor_method(pairs: list[tuple[np.ndarray, np.ndarray]]) -> Method:
    """The floor: one linear remap of each image and one nearest remap of each label."""
    rng = np.random.default_rng(0)
    maps = []
    for image, _ in pairs:
        height, width = image.shape[:2]
        nodes = rng.normal(0.0, 10.0, (3, 3, 2)).astype(np.float32)
        field = cv2.resize(nodes, (width, height), interpolation=cv2.INTER_CUBIC)
        grid = np.stack(np.meshgrid(np.arange(width), np.arange(height)), -1)
        maps.append(field + grid.astype(np.float32))
    reflect = cv2.BORDER_REFLECT

    def floor() -> object:
        return [
            (
                cv2.remap(image, m, None, cv2.INTER_LINEAR, borderMode=reflect),  # type: ignore[call-overload]
                cv2.remap(label, m, None, cv2.INTER_NEAREST, borderMode=reflect),  # type: ignore[call-overload]
            )
            for (image, label), m in zip(pairs, maps, strict=True)
        ]

    return floor


# --- albumentations and AlbumentationsX, each in a subprocess -----------------------------------


def albumentations_worker(sizes: list[int], target: float, repeats: int) -> dict[str, Row]:
    """Time albumentations' ElasticTransform (the importable one), calibrated to ``target``."""
    import inspect

    import albumentations as A  # noqa: N812

    settle_allocator()
    new_api = "displacement_range" in inspect.signature(A.ElasticTransform).parameters
    variants = ["default"] if new_api else ["exact", "approximate"]

    def make(strength: float, variant: str, seed: int) -> Callable[..., dict]:
        common = {"p": 1.0, "interpolation": cv2.INTER_LINEAR, "border_mode": cv2.BORDER_REFLECT}
        common["mask_interpolation"] = cv2.INTER_NEAREST
        if new_api:  # AlbumentationsX: cubic B-spline, 4x4 control grid (its minimum)
            elastic = A.ElasticTransform(
                displacement_range=(strength, strength), control_grid_shape=(4, 4), **common
            )
        else:  # albumentations 2.0.x: Gaussian-smoothed noise times alpha
            approximate = variant == "approximate"
            elastic = A.ElasticTransform(
                alpha=strength, sigma=50.0, approximate=approximate, **common
            )
        return A.Compose([elastic], seed=seed)

    name = "AlbumentationsX" if version("albumentationsx") else "albumentations"
    results: dict[str, Row] = {"name": f"{name} {A.__version__}"}
    beside: Callable[[list], Method] | None = None  # flowsynth, timed beside the fast peer
    if new_api:
        try:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from flowsynth.deform import sample_elastic_pair

            def beside(pairs: list, flow: bool = True) -> Method:
                rng = np.random.default_rng(0)
                return lambda: [
                    sample_elastic_pair(i, m, sigma=10.0, return_flow=flow, rng=rng)
                    for i, m in pairs
                ]
        except ImportError as error:  # this environment lacks flowsynth's dependencies
            print(f"flowsynth not importable beside {name}: {error}", file=sys.stderr)
    probe = 0.02 if new_api else 100.0
    jobs = [(str(size), [test_pair(size)]) for size in sizes]
    jobs.append(("batch", [test_pair(256, seed) for seed in range(16)]))
    for key, pairs in jobs:
        size = pairs[0][0].shape[0]
        for variant in variants:

            def warp(ramps: np.ndarray, seed: int, v: str = variant) -> np.ndarray:
                return make(probe, v, seed)(image=ramps)["image"]

            compose = make(probe * target / measured_rms(warp, size, 6), variant, 0)

            def peer(c: Callable[..., dict] = compose, p: list = pairs) -> object:
                return [c(image=i, mask=m) for i, m in p]

            slow = variant == "exact" or key != "512"
            methods = {"floor": floor_method(pairs), "peer": peer}
            if beside is not None:
                methods["flowsynth"] = beside(pairs)
                methods["flowsynth no flow"] = beside(pairs, flow=False)
            timings = round_robin(methods, max(3, repeats // 4) if slow else repeats)
            for method, value in timings.items():
                results[f"{key}/{variant}/{method}"] = value
    return results


def albumentations_in(python: str, target: float, repeats: int) -> dict[str, Row]:
    command = [python, __file__, "--albumentations-worker", "--target", str(target)]
    command += ["--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{python}: {last}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- in-process methods -------------------------------------------------------------------------


def planar_methods(size: int, batch: int, target: float) -> dict[str, Method]:
    """flowsynth, the floor and elasticdeform on ``batch`` pairs of ``size x size``."""
    from flowsynth.deform import apply_displacement, sample_elastic_pair, sample_grid_displacement

    pairs = [test_pair(size, seed) for seed in range(batch)]
    rng = np.random.default_rng(0)
    fields = [sample_grid_displacement((size, size), sigma=10.0, rng=rng) for _ in pairs]
    methods: dict[str, Method] = {
        "floor": floor_method(pairs),
        "flowsynth": lambda: [
            sample_elastic_pair(image, label, sigma=10.0, rng=rng) for image, label in pairs
        ],
        "flowsynth no flow": lambda: [
            sample_elastic_pair(image, label, sigma=10.0, return_flow=False, rng=rng)
            for image, label in pairs
        ],
        "flowsynth + valid": lambda: [
            sample_elastic_pair(image, label, sigma=10.0, rng=rng).valid for image, label in pairs
        ],
        "flowsynth apply only": lambda: [
            apply_displacement(field, images=[image], labels=[label])
            for (image, label), field in zip(pairs, fields, strict=True)
        ],
    }
    try:
        import elasticdeform
    except ImportError as error:
        print(f"elasticdeform skipped: not importable ({error})")
        return methods

    def deform(arrays: list[np.ndarray], sigma: float, seed: int, orders: list[int]) -> list:
        shift = np.random.default_rng(seed).normal(0.0, sigma, (2, 3, 3))
        axes = [(0, 1)] * len(arrays)
        return elasticdeform.deform_grid(arrays, shift, order=orders, mode="reflect", axis=axes)

    sigma = 10.0 * target / measured_rms(lambda r, s: deform([r], 10.0, s, [1])[0], 256, 16)
    name = f"elasticdeform {version('elasticdeform')}"
    methods[name] = lambda: [deform([im, lb], sigma, 0, [1, 0]) for im, lb in pairs]
    return methods


def torchio_method(size: int, target: float) -> Method | str:
    try:
        import torch
        import torchio as tio
    except ImportError as error:
        return f"torchio not importable ({error})"
    torch.set_num_threads(1)

    def make(displacement: float) -> tio.RandomElasticDeformation:
        return tio.RandomElasticDeformation(
            max_displacement=(displacement, displacement, 0.0),
            image_interpolation="linear",
            label_interpolation="nearest",
        )

    def planes(array: np.ndarray) -> torch.Tensor:  # (H, W, C) -> torchio's (C, W, H, 1)
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 1, 0)[..., None]))

    def warp_ramps(ramps: np.ndarray, seed: int) -> np.ndarray:
        torch.manual_seed(seed)
        subject = tio.Subject(image=tio.ScalarImage(tensor=planes(ramps)))
        moved: Any = make(7.5)(subject)
        return moved["image"].data.numpy()[..., 0].transpose(2, 1, 0)

    elastic = make(7.5 * target / measured_rms(warp_ramps, 128, 4))
    image, label = test_pair(size)

    def pair() -> object:
        subject = tio.Subject(
            image=tio.ScalarImage(tensor=planes(image)),
            label=tio.LabelMap(tensor=planes(label[..., None])),
        )
        out: Any = elastic(subject)
        return out["image"].data.numpy(), out["label"].data.numpy()

    return pair


def volume_methods(size: int, with_peers: bool) -> dict[str, Method]:
    import scipy.ndimage

    from flowsynth.deform import apply_displacement, sample_elastic_pair, sample_grid_displacement
    from flowsynth.deform.volume import sample_positions

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (size // 16,) * 3, dtype=np.uint8)
    volume = scipy.ndimage.zoom(small, 16, order=1)
    label = (volume // 32).astype(np.uint8)
    field = sample_grid_displacement(volume.shape, spacing=32, sigma=4.0, rng=rng)
    positions = sample_positions(field)

    def floor() -> object:
        warped = scipy.ndimage.map_coordinates(volume, positions, order=1, mode="reflect")
        return warped, scipy.ndimage.map_coordinates(label, positions, order=0, mode="reflect")

    methods: dict[str, Method] = {
        "floor (map_coordinates)": floor,
        "flowsynth": lambda: sample_elastic_pair(volume, label, spacing=32, sigma=4.0, rng=rng),
        "flowsynth apply only": lambda: apply_displacement(field, images=[volume], labels=[label]),
    }
    if with_peers:
        try:
            import elasticdeform

            shift = rng.normal(0.0, 4.0, (3, 5, 5, 5))  # same grid and sigma, not calibrated
            methods[f"elasticdeform {version('elasticdeform')}"] = lambda: (
                elasticdeform.deform_grid([volume, label], shift, order=[1, 0], mode="reflect")
            )
        except ImportError as error:
            print(f"elasticdeform 3D skipped: {error}")
    return methods


# --- report -------------------------------------------------------------------------------------


def print_table(title: str, rows: dict[str, Row]) -> None:
    """Print ms and ratios; a subprocess row's ratios use the floor timed in its own process."""
    floor = next((v for k, v in rows.items() if k.startswith("floor")), None)
    relative: dict[str, float] = {}  # x floor
    for name, value in rows.items():
        if isinstance(value, tuple):
            relative[name] = value[0] / value[1]
        elif isinstance(value, float) and isinstance(floor, float):
            relative[name] = value / floor
    peers = [v for k, v in relative.items() if not k.startswith(("floor", "flowsynth"))]
    fastest = min(peers) if peers else None
    print(f"\n{title}")
    print(f"{'method':<48} {'ms':>9} {'x floor':>8} {'x fastest peer':>15}")
    for name, value in rows.items():
        if isinstance(value, str):
            print(f"{name:<48} skipped: {value}")
            continue
        ms = value[0] if isinstance(value, tuple) else value
        mark = "*" if isinstance(value, tuple) else " "
        ratio = relative.get(name)
        ratio_floor = f"{ratio:8.2f}" if ratio is not None else f"{'':8}"
        ratio_peer = f"{ratio / fastest:15.2f}" if ratio is not None and fastest else ""
        print(f"{name:<47}{mark} {ms:9.2f} {ratio_floor} {ratio_peer}")
    if any(isinstance(v, tuple) for v in rows.values()):
        print("* timed in a subprocess; its ratios use the floor timed beside it there")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, fewer peers")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--albumentationsx-python", help="a Python with AlbumentationsX")
    parser.add_argument("--albumentations-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", type=float, default=7.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.albumentations_worker:
        print(json.dumps(albumentations_worker([512, 1024], args.target, args.repeats)))
        return
    settle_allocator()
    repeats = 8 if args.quick else args.repeats
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from flowsynth.deform import sample_grid_displacement

    def flowsynth_ramps(ramps: np.ndarray, seed: int) -> np.ndarray:
        field = sample_grid_displacement((256, 256), sigma=10.0, rng=np.random.default_rng(seed))
        return ramps + np.dstack([field, np.zeros_like(field[..., :1])])

    target = measured_rms(flowsynth_ramps, 256, 400)
    print(f"opencv {cv2.__version__}, numpy {np.__version__}, one thread")
    print(f"strength: flowsynth 3x3 grid, sigma 10 = RMS {target:.2f} px (inner 60 %); peers alike")
    tables = {
        "512": round_robin(planar_methods(512, 1, target), repeats),
        "1024": round_robin(planar_methods(1024, 1, target), max(5, repeats // 4)),
        "batch": round_robin(planar_methods(256, 16, target), max(5, repeats // 4)),
    }
    pythons = [sys.executable]
    if args.albumentationsx_python:
        pythons.append(args.albumentationsx_python)
    for python in pythons:
        found = albumentations_in(python, target, repeats)
        if "error" in found:
            print(f"albumentations skipped: {found['error']}")
            continue
        for key, table in tables.items():
            for variant in ("exact", "approximate", "default"):
                prefix = f"{key}/{variant}/"
                if prefix + "peer" not in found:
                    continue
                name = f"{found['name']} {variant}".replace(" default", "")
                floor = found[prefix + "floor"]
                rows = {
                    "peer": name,
                    "flowsynth": f"flowsynth beside {name}",
                    "flowsynth no flow": f"flowsynth no flow beside {name}",
                }
                for method, row in rows.items():
                    value = found.get(prefix + method)
                    if isinstance(value, float) and isinstance(floor, float):
                        table[row] = (value, floor)
    if not args.quick:
        torchio = torchio_method(512, target)
        name = f"torchio {version('torchio')}"
        tables["512"][name] = (
            torchio if isinstance(torchio, str) else round_robin({"": torchio}, 3)[""]
        )
    print_table("512 x 512 RGB + uint8 label, ms per pair", tables["512"])
    print_table("1024 x 1024 RGB + uint8 label, ms per pair", tables["1024"])
    print_table("batch of 16 pairs at 256 x 256, ms per batch", tables["batch"])
    volume = round_robin(volume_methods(128, with_peers=not args.quick), 3)
    print_table("128^3 uint8 volume + label (grid every 32 voxels, sigma 4), ms", volume)


if __name__ == "__main__":
    main()
