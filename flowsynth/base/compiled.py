"""How flowsynth compiles its inner loops (numba), in one place.

Compiled code is cached on disk beside each module (``cache=True``), so only the first import on
a machine pays the compilation (:func:`kernel_cache_is_cold` tells whether it is still to come).
numba compiles without fast-math, so LLVM neither reorders sums nor fuses a multiply and an add
into one rounding: a float result is the same whichever instruction set (SSE, AVX2, AVX-512) the
loop is vectorised for. Every kernel that promises the
same bytes on every CPU relies on this, and on calling no vectorised transcendental function
(``scene.kernels.sin32`` and ``deform.kernels.exp`` are polynomials written out for that reason).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numba

Function = TypeVar("Function", bound=Callable[..., Any])


def compiled(signature: Any = None) -> Callable[[Function], Function]:
    """numba-compile a function (cached on disk), keeping its Python signature for type checks.

    With a ``signature``, one compiled version serves every call instead of numba compiling
    another for each new array layout it meets.
    """

    def compile_function(function: Function) -> Function:
        jit = numba.njit(signature, cache=True, nogil=True, error_model="numpy")
        return cast(Function, jit(function))

    return compile_function


#: ``compiled()`` without a signature: numba compiles a version per argument types.
jit = compiled()


def array_type(
    dtype: Any, ndim: int, *, readonly: bool = False, layout: Literal["A", "C"] = "A"
) -> Any:
    """The numba type of an array argument, for ``compiled(signature)``."""
    return numba.types.Array(dtype, ndim, layout, readonly=readonly)


#: The subpackages whose ``kernels.py`` compiles on first use, cached beside it.
KERNEL_MODULES = ("scene", "render", "deform")


def kernel_cache_folders() -> list[Path]:
    """Where numba caches the compiled kernels: ``$NUMBA_CACHE_DIR`` if set, else the
    ``__pycache__`` folder beside each ``kernels.py`` (found from this package's folder, without
    importing the kernels, which would compile them)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return [Path(os.environ["NUMBA_CACHE_DIR"])]
    package = Path(__file__).parent.parent
    return [package / module / "__pycache__" for module in KERNEL_MODULES]


def kernel_cache_is_cold() -> bool:
    """True when some kernels module has no numba index (``kernels.*.nbi``) cached yet."""
    folders = kernel_cache_folders()
    if len(folders) == 1:  # $NUMBA_CACHE_DIR: one tree for every module
        return not any(folders[0].rglob("kernels.*.nbi"))
    return any(not any(folder.glob("kernels.*.nbi")) for folder in folders)
