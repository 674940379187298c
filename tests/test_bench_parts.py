"""``benchmarks/bench_render_parts.py`` runs and splits each stage into parts that add up."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_render_parts.py"
LINE = re.compile(r"^  (\S.*?)\s+(-?\d+\.\d\d) ms\s+(-?\d+\.\d)%$")


def _sections(output: str) -> dict[str, tuple[float, dict[str, float]]]:
    """``{stage: (ms a pair, {part: ms})}`` from the script's output."""
    sections: dict[str, tuple[float, dict[str, float]]] = {}
    stage = ""
    for line in output.splitlines():
        head = re.match(r"^(sampling|rendering): (\d+\.\d\d) ms a pair$", line)
        if head:
            stage = head.group(1)
            sections[stage] = (float(head.group(2)), {})
        elif (part := LINE.match(line)) and stage:
            sections[stage][1][part.group(1)] = float(part.group(2))
    return sections


def test_breakdown_names_the_parts_and_they_add_up() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--recipe", "deformations", "--pairs", "2", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    sections = _sections(done.stdout)
    assert set(sections) == {"sampling", "rendering"}, done.stdout
    sampling, rendering = sections["sampling"], sections["rendering"]
    assert {"sample_shape", "sample_texture", "layout loop"} <= set(sampling[1]), done.stdout
    assert {"composite", "footprint", "occluded", "python and numpy"} <= set(rendering[1])
    for total, parts in sections.values():
        assert total > 0
        assert abs(sum(parts.values()) - total) <= 0.02 * len(parts), done.stdout
    # the wrapped functions were really timed: the largest part of each stage took time
    assert sampling[1]["sample_shape"] > 0 and rendering[1]["composite"] > 0


def test_sequence_benchmark_prints_the_per_frame_ratio() -> None:
    script = SCRIPT.parent / "bench_sequence.py"
    done = subprocess.run(
        [sys.executable, str(script), "--samples", "1", "--repeats", "1", "--scale", "0.25"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    ratio = re.search(r"per-frame cost of a sequence / of a pair: (\d+\.\d\d)", done.stdout)
    assert ratio is not None and float(ratio.group(1)) > 0, done.stdout
    assert "frame size: 96x128" in done.stdout
