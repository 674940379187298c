"""Dataset specs: names under the data root, NAME=PATH, recipe:NAME, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsynth.data import FlyingChairs, ProceduralFlowDataset, resolve_dataset
from flowsynth.data.datasets import Kitti
from flowsynth.recipe.fields import RecipeError
from tests.data import fakes
from tests.render.helpers import SMALL


def test_name_under_the_data_root_argument_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakes.flying_chairs(tmp_path / "flyingchairs")
    dataset = resolve_dataset("flyingchairs", tmp_path)
    assert isinstance(dataset, FlyingChairs) and len(dataset) == 3
    monkeypatch.setenv("FLOWSYNTH_DATA_ROOT", str(tmp_path))
    assert len(resolve_dataset("FlyingChairs", seed=3)) == 3


def test_name_with_its_own_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWSYNTH_DATA_ROOT", raising=False)
    fakes.kitti(tmp_path / "somewhere", 2015)
    dataset = resolve_dataset(f"kitti2015={tmp_path / 'somewhere'}", flow="noc")
    assert isinstance(dataset, Kitti) and len(dataset) == 2
    fakes.per_file_layout(tmp_path / "generated")
    assert len(resolve_dataset(f"flowsynth={tmp_path / 'generated'}")) == 2


def test_recipe_spec() -> None:
    dataset = resolve_dataset(
        "recipe:ablation/boxes", length=4, seed=2, overrides=[*SMALL, "size=[16,24]"]
    )
    assert isinstance(dataset, ProceduralFlowDataset) and len(dataset) == 4
    example = dataset[3]
    assert example.image1.shape == (3, 16, 24) and example.name == "recipe:ablation/boxes/0000003"
    with pytest.raises(RecipeError, match="not found"):
        resolve_dataset("recipe:no/such/recipe")


def test_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWSYNTH_DATA_ROOT", raising=False)
    with pytest.raises(FileNotFoundError, match="FLOWSYNTH_DATA_ROOT"):
        resolve_dataset("middlebury")
    with pytest.raises(ValueError, match="unknown dataset 'vkitti'.*middlebury"):
        resolve_dataset("vkitti", tmp_path)
    with pytest.raises(FileNotFoundError, match="sintel=PATH"):
        resolve_dataset("sintel", tmp_path)
    with pytest.raises(ValueError, match="flowsynth=PATH"):
        resolve_dataset("flowsynth", tmp_path)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        resolve_dataset("sintel", tmp_path / "missing")
    (tmp_path / "middlebury").mkdir()
    with pytest.raises(FileNotFoundError, match="other-gt-flow/<Sequence>/flow10.flo"):
        resolve_dataset("middlebury", tmp_path)
    fakes.flying_chairs(tmp_path / "flyingchairs")
    with pytest.raises(TypeError, match="pass_name"):
        resolve_dataset("flyingchairs", tmp_path, pass_name="final")


def test_a_recipe_of_another_kind_is_refused_by_name() -> None:
    with pytest.raises(RecipeError, match="'elastic/unet' is a recipe of kind 'elastic'"):
        resolve_dataset("recipe:elastic/unet")


def test_one_table_of_names() -> None:
    """Every named dataset has a reader, every alias a dataset, every benchmark a folder."""
    from flowsynth.data.names import ALIASES, BENCHMARKS, FOLDERS, dataset_folder
    from flowsynth.data.resolve import READERS

    assert set(READERS) == set(FOLDERS)
    assert all(real in FOLDERS for real, _ in ALIASES.values())
    assert dataset_folder("sintel-clean") == "sintel" and dataset_folder("chairs") == "flyingchairs"
    assert all(dataset_folder(name) for name in BENCHMARKS)
    with pytest.raises(ValueError, match="unknown dataset 'nowhere'"):
        dataset_folder("nowhere")


def test_aliases_resolve_with_their_options(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="sintel"):
        resolve_dataset("sintel-final", data_root=tmp_path)
    with pytest.raises(FileNotFoundError, match="flyingchairs"):
        resolve_dataset("chairs", data_root=tmp_path)
