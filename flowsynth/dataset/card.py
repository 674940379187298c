"""The dataset card: ``DIR/README.md``, written beside ``flowsynth.json`` by every run.

It says what the data is, how it was made, its conventions and files, how to load it and what
to cite. It holds no times, host names, folder names or chunk sizes, so the same data always
gets the same card, wherever and however it was written; it is written atomically and touches
no sample file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.layout import FLOW_FILES, SCENE_FLOW_FILES, file_name, flyingthings3d_files
from flowsynth.io.manifest import Coverage, list_manifests

CARD_NAME = "README.md"

_FLOW_MEANINGS = {
    "img_0.png": "frame 1, RGB uint8",
    "img_1.png": "frame 2, RGB uint8",
    "flow_01.flo": "forward flow 1 -> 2, Middlebury .flo, float32 (u, v)",
    "flow_10.flo": "backward flow 2 -> 1",
    "occ_01.png": "occlusion of frame 1 in frame 2 (255 = occluded or out of frame)",
    "occ_10.png": "occlusion of frame 2 in frame 1",
    "mb_01.png": "motion boundaries of frame 1 (255 = boundary)",
    "mb_10.png": "motion boundaries of frame 2",
    "seg_0.png": "instance ids of frame 1, 16-bit (0 = background)",
    "seg_1.png": "instance ids of frame 2",
}

_CITATION = """\
The method: N. Mayer, E. Ilg, P. Fischer, C. Hazirbas, D. Cremers, A. Dosovitskiy and T. Brox,
"What Makes Good Synthetic Training Data for Learning Disparity and Optical Flow Estimation?",
International Journal of Computer Vision 126, 942-960 (2018).

```bibtex
@article{mayer2018makes,
  title   = {What Makes Good Synthetic Training Data for Learning Disparity and Optical Flow
             Estimation?},
  author  = {Mayer, Nikolaus and Ilg, Eddy and Fischer, Philipp and Hazirbas, Caner and
             Cremers, Daniel and Dosovitskiy, Alexey and Brox, Thomas},
  journal = {International Journal of Computer Vision},
  volume  = {126},
  pages   = {942--960},
  year    = {2018}
}
```
"""


def _ranges(out: Path) -> list[tuple[int, int]]:
    return Coverage(list_manifests(out)).ranges()


def dataset_card(out: Path, meta: dict[str, Any]) -> str:
    """The Markdown text of the card of the dataset in ``out`` (``meta``: its
    ``flowsynth.json``)."""
    recipe = meta.get("recipe") or {}
    elastic = recipe.get("kind") == "elastic"
    ranges = _ranges(out)
    samples = sum(stop - first for first, stop in ranges)
    spans = ", ".join(f"{first}-{stop - 1}" for first, stop in ranges) or "none yet"
    kind = "elastically deformed image/label pairs" if elastic else "optical flow pairs"
    stereo = not elastic and bool((recipe.get("stereo") or {}).get("enabled"))
    if not elastic and recipe.get("frames", 2) > 2:
        kind = f"optical flow sequences of {recipe['frames']} frames"
    if stereo:
        scene_flow = bool((recipe.get("stereo") or {}).get("scene_flow"))
        kind = "scene flow (stereo at t and t + 1)" if scene_flow else "rectified stereo pairs"
    lines = [
        f"# Synthetic {kind} made by flowsynth",
        "",
        f"Recipe: {recipe.get('description') or '(no description)'}.",
        "",
        f"- samples: {samples} (indices {spans})",
        f"- layout: {meta.get('layout')}; seed {meta.get('seed')}; recipe hash "
        f"`{str(meta.get('recipe_hash'))[:12]}`; flowsynth {meta.get('flowsynth')}",
    ]
    if not elastic:
        scale = recipe.get("scale", 1.0)
        size = [round(s * scale) for s in recipe.get("size", [0, 0])]
        what = "views" if stereo else "frames"
        lines.append(f"- {what}: {size[0]} x {size[1]} pixels (height x width)")
    lines += [
        "- `flowsynth.json`: the resolved recipe, seed and library versions; sample *i* is a pure",
        "  function of (recipe, seed, *i*), so `flowsynth verify . --repair` rewrites damaged",
        "  files byte for byte; `manifest/` holds each chunk's file sizes and sha256.",
        "",
    ]
    if elastic:
        lines += _elastic_section(meta)
    elif stereo:
        lines += _stereo_section(meta)
    elif recipe.get("frames", 2) > 2:
        lines += _sequence_section(meta)
    else:
        lines += _flow_section(meta)
    if meta.get("texture_folder"):
        lines += [
            "## Texture licences",
            "",
            "The frames' textures come from images of a folder of your own "
            f"(`{Path(meta['texture_folder']).name}`): the",
            "licences of those images apply to this data; check them before you share it.",
            "",
        ]
    lines += ["## Citation", "", _CITATION]
    return "\n".join(lines)


def _flow_section(meta: dict[str, Any]) -> list[str]:
    layout = meta.get("layout")
    suffixes = meta.get("files") or list(FLOW_FILES)
    lines = [
        "## Conventions",
        "",
        "Flow is float32 (H, W, 2) with `flow[..., 0] = u` (x, right) and `flow[..., 1] = v`",
        "(y, down): pixel (x, y) of frame 1 moves to (x + u, y + v) in frame 2. Masks are 0/255",
        "PNGs. The file names follow FlyingChairs2.",
        "",
        "## Files",
        "",
    ]
    if layout == "shards":
        lines += [
            "`shard-NNNNNN.tar` (WebDataset): one tar per chunk, members `{index:07d}.{suffix}`",
            "with the suffixes below and a `.json` of each sample's index, seed and recipe hash.",
            "",
        ]
    lines += ["| file | contents |", "|---|---|"]
    lines += [f"| `{{index:07d}}-{s}` | {_FLOW_MEANINGS.get(s, '')} |" for s in suffixes]
    reader = "FlowsynthShards" if layout == "shards" else "FlowsynthFiles"
    lines += [
        "",
        "## Loading",
        "",
        "```python",
        f"from flowsynth.data.datasets import {reader}",
        "",
        f'dataset = {reader}("{{this folder}}")  # torch Dataset; .metadata is flowsynth.json',
        "```",
        "",
    ]
    if layout != "shards":
        lines += [
            "FlyingChairs2 loaders expect `ROOT/train/`: generate into `ROOT/train`",
            "(`flowsynth generate ... --out ROOT/train`) or link this folder there. flowsynth's",
            "own `FlyingChairs2` reader also accepts this folder as it is.",
            "",
        ]
    return lines


#: What each field of a stereo or scene-flow sample holds (``render.stereo``); ``_next``
#: fields hold the same at ``t + 1`` (:func:`_stereo_meaning`).
_STEREO_MEANINGS = {
    "left": "left view, RGB uint8",
    "right": "right view, RGB uint8",
    "disp_left": "disparity of the left view, float32 PFM (`Pf`, rows bottom to top)",
    "disp_right": "disparity of the right view, float32 PFM",
    "occ_left": "255 where the left pixel is not visible in the right view",
    "occ_right": "255 where the right pixel is not visible in the left view",
    "seg_left": "instance ids of the left view, 16-bit (0 = background)",
    "seg_right": "instance ids of the right view, 16-bit",
    **{
        name.format(view): meaning.format(view)
        for view in ("left", "right")
        for name, meaning in (
            ("flow_{}", "the {} view's flow t -> t + 1, float32 (u, v)"),
            ("flow_{}_backward", "the {} view's flow t + 1 -> t"),
            ("occ_flow_{}", "255 where the {} pixel at t is not visible at t + 1"),
            ("occ_flow_{}_backward", "255 where the {} pixel at t + 1 is not visible at t"),
            (
                "disp_change_{}",
                "disparity at t + 1 of the point each {} pixel at t shows, less its disparity"
                " at t (> 0: nearer), float32 PFM",
            ),
        )
    },
    "unknown_flow": "NaN: a frame pair the sample lacks (the loaders pair files by index and"
    " never open it)",
    "unknown": "NaN: a frame pair the sample lacks",
}
#: Entry of a stereo or scene-flow file (flat or in FlyingThings3D's tree) -> its field.
_STEREO_FIELDS = {
    entry: field
    for files in (
        SCENE_FLOW_FILES,
        flyingthings3d_files(),
        flyingthings3d_files(scene_flow=True),
    )
    for entry, (field, _) in files.items()
}


def _stereo_meaning(entry: str) -> str:
    """What the stereo or scene-flow file ``entry`` holds."""
    field = _STEREO_FIELDS.get(entry, "")
    if field.endswith("_next"):
        return f"at t + 1: {_STEREO_MEANINGS[field.removesuffix('_next')]}"
    return _STEREO_MEANINGS.get(field, "")


def _stereo_section(meta: dict[str, Any]) -> list[str]:
    stereo = (meta.get("recipe") or {}).get("stereo") or {}
    low, high = (stereo.get("disparity") or ["?", "?"])[:2]
    lines = [
        "## Conventions",
        "",
        "Rectified pairs, FlyingThings3D's sign: left pixel (x, y) is seen at (x - d, y) in the",
        "right view, right pixel (x, y) at (x + d, y) in the left view; disparities are >= 0",
        f"(the recipe draws layer disparities in [{low}, {high}] px, slant "
        f"{stereo.get('slant', 0.0)}). Disparity is",
        "PFM as FlyingThings3D writes it (`Pf`, little-endian, scale -1, rows bottom to top);",
        "masks are 0/255 PNGs.",
        "",
        "## Files",
        "",
        "| file | contents |",
        "|---|---|",
    ]
    entries = meta.get("files") or []
    meanings = [_stereo_meaning(entry) for entry in entries]
    if meta.get("tree") == "flyingthings3d":
        return lines[:-2] + _flyingthings3d_files(entries, meanings, bool(stereo.get("scene_flow")))
    if meta.get("layout") == "shards":
        lines[-2:-2] = [
            "`shard-NNNNNN.tar` (WebDataset): one tar per chunk, members `{index:07d}.{suffix}`",
            "with the suffixes below and a `.json` of each sample's index, seed and recipe hash.",
            "",
        ]
    lines += [f"| `{{index:07d}}-{s}` | {m} |" for s, m in zip(entries, meanings, strict=True)]
    reader = "flowsynth_stereo"
    lines += [
        "",
        "## Loading",
        "",
        "```python",
        "from flowsynth.data import resolve_stereo_dataset",
        "",
        f'dataset = resolve_stereo_dataset("{reader}={{this folder}}")  # torch Dataset',
        "```",
        "",
    ]
    if meta.get("layout") != "shards":
        lines += [
            "```python",
            "from flowsynth.io import read_image, read_pfm",
            "",
            'left = read_image("{this folder}/0000000-left.png")',
            'disparity = read_pfm("{this folder}/0000000-disp_left.pfm")  # float32 (H, W)',
            "```",
            "",
        ]
    return lines


def _flyingthings3d_files(entries: list[str], meanings: list[str], scene_flow: bool) -> list[str]:
    """The files and loading sections of a stereo (``scene_flow``: scene-flow) dataset in
    FlyingThings3D's tree."""
    frames = "frames `0000` (t) and `0001` (t + 1)" if scene_flow else "one frame `0000`"
    own = "`occlusion/`, `segmentation/`" + (" and `flow_occlusion/`" if scene_flow else "")
    lines = [
        "FlyingThings3D's tree (sample `i` is the scene folder `{index:07d}` of `TRAIN/A`, each",
        f"view's {frames}); {own} are",
        "flowsynth's own, beside the folders the loaders read.",
        "",
        "| file | contents |",
        "|---|---|",
    ]
    for entry, meaning in zip(entries, meanings, strict=False):
        name = file_name(0, entry).replace("/0000000/", "/{index:07d}/")
        lines.append(f"| `{name}` | {meaning} |")
    lines += [
        "",
        "## Loading",
        "",
        "Stereo loaders that read FlyingThings3D read `FlyingThings3D/` as it is. Their roots:",
        "RAFT-Stereo's `SceneFlowDatasets`, this folder (it also opens its own",
        "`datasets/flyingthings_validation.txt`); IGEV's, `FlyingThings3D/` itself;",
        "torchvision's `SceneFlowStereo`, a folder holding this one as `SceneFlow/`.",
        "",
        "```python",
        "from flowsynth.data import resolve_stereo_dataset",
        "",
        'dataset = resolve_stereo_dataset("flyingthings3d_stereo={this folder}")  # torch Dataset',
        "```",
        "",
    ]
    return lines


_SEQUENCE_MEANINGS = {
    "clean": "frame t, RGB uint8",
    "final": "the same frames as clean (no motion blur or atmosphere is rendered)",
    "flow": "forward flow t -> t + 1, Middlebury .flo, float32 (u, v)",
    "flow_backward": "backward flow t + 1 -> t (named by t)",
    "occlusions": "occlusion of frame t in frame t + 1 (255 = occluded or out of frame)",
    "occlusions_backward": "occlusion of frame t + 1 in frame t (named by t)",
    "motion_boundaries": "motion boundaries of the flow t -> t + 1 (255 = boundary)",
    "motion_boundaries_backward": "motion boundaries of the flow t + 1 -> t",
    "invalid": "255 where frame t's flow is undefined (the last frame: its backward flow)",
    "segmentation": "instance ids of frame t, 16-bit (0 = background)",
    "flow_from_first": "flow from frame 1 to frame t, t = 2..T",
    "visible_from_first": "255 where the frame-1 pixel is visible in frame t, t = 2..T",
}


def _sequence_section(meta: dict[str, Any]) -> list[str]:
    entries = meta.get("files") or []
    folders: dict[str, list[str]] = {}
    for entry in entries:
        root, folder, name = entry.split("/")
        folders.setdefault(f"{root}/{folder}", []).append(name)
    lines = [
        "## Conventions",
        "",
        "Flow is float32 (H, W, 2) with `flow[..., 0] = u` (x, right) and `flow[..., 1] = v`",
        "(y, down): pixel (x, y) of frame t moves to (x + u, y + v) in frame t + 1. Masks are",
        "0/255 PNGs. The tree is MPI Sintel's training split, sample *i* its scene `{index:07d}`,",
        "frames counted from 1; the folders Sintel lacks lie beside its own.",
        "",
        "## Files",
        "",
        "| files | contents |",
        "|---|---|",
    ]
    for folder, names in folders.items():
        span = f"{names[0]} ... {names[-1]}" if len(names) > 1 else names[0]
        meaning = _SEQUENCE_MEANINGS.get(folder.split("/")[-1], "")
        lines.append(f"| `{folder}/{{index:07d}}/` {span} | {meaning} |")
    return [
        *lines,
        "",
        "## Loading",
        "",
        "MPI Sintel loaders read this folder as a Sintel root (its `training/clean`, `flow`,",
        "`occlusions` and `invalid`), for example flowsynth's own:",
        "",
        "```python",
        "from flowsynth.data.formats.sintel import list_sintel",
        "",
        'pairs = list_sintel("{this folder}")  # neighbouring frames and the flow between them',
        "```",
        "",
    ]


def _elastic_section(meta: dict[str, Any]) -> list[str]:
    suffixes = meta.get("files") or []
    lines = [
        "## Files",
        "",
        "Sample *i* deforms example *i* mod *n* of the example folders (sorted by name);",
        "labels keep exactly their values.",
        "",
        "| file |",
        "|---|",
    ]
    lines += [f"| `{{index:07d}}-{s}` |" for s in suffixes]
    return [*lines, ""]


def write_card(out: Path, meta: dict[str, Any]) -> Path:
    """Write (or rewrite) ``out/README.md`` atomically; returns its path."""
    path = out / CARD_NAME
    atomic_write_bytes(path, dataset_card(out, meta).encode(), root=out)
    return path
