"""The stream benchmark and its command: a tiny run, and the argument parser."""

from __future__ import annotations

import argparse

import pytest

from flowsynth.cli.stream_bench import add_stream_bench_command, run_stream_bench
from flowsynth.data.bench import stream_bench
from tests.render.helpers import SMALL


def test_stream_bench_reports_rates() -> None:
    lines: list[str] = []
    result = stream_bench("ablation/boxes", 0, 2, 2, (16, 24), overrides=SMALL, report=lines.append)
    assert result["samples_per_second"] > 0 and result["batches_per_second"] > 0
    assert (result["height"], result["width"]) == (16, 24)
    assert len(lines) == 1 and "samples/s" in lines[0] and "batches/s" in lines[0]
    with pytest.raises(ValueError, match="batch"):
        stream_bench("ablation/boxes", 0, 0, 1)


def test_command_parses_and_runs(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="flowsynth")
    add_stream_bench_command(parser.add_subparsers(dest="command"))
    overrides = [arg for item in SMALL for arg in ("--set", item)]
    args = parser.parse_args(
        [
            "stream-bench",
            "ablation/boxes",
            "--workers",
            "0",
            "--batch",
            "2",
            "--batches",
            "1",
            "--size",
            "16",
            "24",
            "--augment",
            *overrides,
        ]
    )
    assert args.handler is run_stream_bench and args.workers == 0 and args.size == [16, 24]
    assert args.handler(args) == 0
    assert "samples/s" in capsys.readouterr().out
