"""Project rule: only functions named ``sample_*`` draw random numbers, from an ``rng`` argument,
and nothing uses a global random state."""

from __future__ import annotations

import ast
from pathlib import Path

import flowsynth

PACKAGE = Path(flowsynth.__file__).parent
DRAWS = {
    "random",
    "uniform",
    "integers",
    "normal",
    "standard_normal",
    "choice",
    "permutation",
    "shuffle",
    "binomial",
    "poisson",
    "exponential",
    "gamma",
    "beta",
    "lognormal",
}
GLOBAL = (
    "np.random.rand",
    "np.random.seed",
    "np.random.uniform",
    "np.random.normal",
    "np.random.randint",
    "np.random.choice",
    "np.random.shuffle",
    "random.random",
)


class _Finder(ast.NodeVisitor):
    """Draws ``rng.<draw>(...)`` made in the body of each function (not of nested ones)."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.offenders: list[tuple[str, int]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in DRAWS
            and isinstance(func.value, ast.Name)
            and func.value.id == "rng"
            and self.stack
            and not self.stack[-1].startswith("sample_")
        ):
            self.offenders.append((self.stack[-1], node.lineno))
        self.generic_visit(node)


def test_only_sample_functions_draw_random_numbers() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        finder = _Finder()
        finder.visit(ast.parse(path.read_text(), filename=str(path)))
        offenders += [
            f"{path.relative_to(PACKAGE)}:{name}:{line}" for name, line in finder.offenders
        ]
    assert not offenders, f"functions drawing from rng without a sample_ name: {offenders}"


def test_no_global_random_state() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        offenders += [f"{path.relative_to(PACKAGE)}: {g}" for g in GLOBAL if g + "(" in text]
        if "\nimport random\n" in text or "\nfrom random import" in text:
            offenders.append(f"{path.relative_to(PACKAGE)}: import random")
    assert not offenders, offenders
