"""Project rule: data flows one way. A module imports only from its own layer or the layers
before it, and the modules' top-level imports form no cycle.

The layers, first to last, are the subpackages of ``flowsynth`` in :data:`LAYERS`; a new
subpackage must be placed here, so the layout cannot decay silently.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import flowsynth

PACKAGE = Path(flowsynth.__file__).parent
LAYERS = (
    "base",  # rng, compiled kernels' helpers, matrices, conventions, lazy exports
    "recipe",  # files -> typed configs
    "io",  # file formats, manifests, atomic writes
    "scene",  # sample_* -> scene plans
    "render",  # plans -> frames and exact ground truth
    "deform",  # elastic deformation of image/label pairs
    "dataset",  # the disk pipeline: chunks, workers, resume, verify
    "viz",  # pictures and contact sheets
    "data",  # torch datasets: the first place torch is imported
    "train",
    "evaluate",
    "ablation",
    "cli",
)
RANK = {name: rank for rank, name in enumerate(LAYERS)}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The flowsynth modules ``path`` imports (``from a import b`` counts ``a.b`` when that is
    a module, else ``a``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "flowsynth" or name.startswith("flowsynth.")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


FILES = {p: _module_name(p) for p in sorted(PACKAGE.rglob("*.py"))}
MODULES = set(FILES.values())


def test_every_subpackage_has_a_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS), "place new subpackages in LAYERS (tests/test_layers.py)"
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"], "modules belong in a layer's subpackage"


@pytest.mark.parametrize("path", [p for p, m in FILES.items() if _layer(m)], ids=str)
def test_imports_only_earlier_layers(path: Path) -> None:
    own = _layer(FILES[path])
    assert own is not None
    later = sorted(
        name
        for name in _imports(path, top_level_only=False)
        if (layer := _layer(name)) is not None and RANK[layer] > RANK[own]
    )
    assert not later, f"{FILES[path]} ({own}) imports later layers: {later}"


def test_top_level_imports_form_no_cycle() -> None:
    graph = {
        module: {m for m in _imports(path, top_level_only=True) if m in MODULES and m != module}
        for path, module in FILES.items()
    }
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target] if target in stack else [target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, [*stack, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself: a scene module importing the renderer is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from flowsynth.render.layers import render\n")
    names = _imports(bad, top_level_only=False)
    assert names == {"flowsynth.render.layers"}
    assert RANK[_layer("flowsynth.render.layers") or ""] > RANK["scene"]


def test_public_face_loads_lazily() -> None:
    """``import flowsynth`` imports no numba, torch or engine; each public name resolves."""
    code = (
        "import sys, flowsynth; "
        "heavy = [m for m in ('numba', 'torch', 'dask', 'joblib', 'cv2') if m in sys.modules]; "
        "names = [n for n in flowsynth.__all__ if not callable(getattr(flowsynth, n)) "
        "and n != '__version__']; print(heavy, names)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        flowsynth.nothing  # noqa: B018
