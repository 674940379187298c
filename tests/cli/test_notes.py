"""Notes are said once per process; a new run folder gets no "nothing to resume" note."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsynth.base import notes
from flowsynth.base.notes import note_once


def test_a_note_is_printed_once_per_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "_said", set())
    assert note_once("a", "first") and not note_once("a", "first again")
    assert note_once("b", "other")
    assert capsys.readouterr().err == "note: first\nnote: other\n"


def test_resume_notes_only_for_a_folder_that_holds_something(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    from flowsynth.train.loop import _resume_state

    monkeypatch.setattr(notes, "_said", set())
    path = tmp_path / "run" / "checkpoint.pt"
    assert _resume_state(path, None, True, fresh=True) is None  # type: ignore[arg-type]
    assert capsys.readouterr().err == ""
    for _ in range(3):  # an ablation's runs: said once
        assert _resume_state(path, None, True, fresh=False) is None  # type: ignore[arg-type]
    assert capsys.readouterr().err.count("to resume; starting a new run") == 1


def test_the_tensorboard_note_is_said_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    import builtins

    from flowsynth.train.loop import tensorboard_available

    monkeypatch.setattr(notes, "_said", set())
    real_import = builtins.__import__

    def no_tensorboard(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert not tensorboard_available() and not tensorboard_available()
    assert capsys.readouterr().err.count("TensorBoard logging off") == 1
