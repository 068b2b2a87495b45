"""The command line's batch mode: ``smugkit explain|attribute MODEL INPUTS`` with many inputs.

INPUTS that hold more than one input (a folder, a glob, a ``.npy``/``.npz`` of N inputs) run as a batch on
``--executor``; exit code 0 when every item succeeded, 1 when some failed (their rows say why), 2 on bad
input (nothing ran).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smugkit.run.items import Item, read_items

INPUTS_HELP = (
    "input: .npy, .json or an image file (PNG/JPEG), or many: a folder, a glob, a .npy/.npz of N inputs"
)


def add_batch_options(p: argparse.ArgumentParser, default: str = "local") -> None:
    """``--executor`` and ``--workers`` (for explain/attribute they apply when INPUTS hold many inputs)."""
    p.add_argument(
        "--executor",
        default=default,
        metavar="SPEC",
        help=f"local[:N] (a process pool), dask[=ADDRESS], ray[=ADDRESS] or serial (default {default})",
    )
    p.add_argument("--workers", type=int, help="worker processes (default: one per core)")


def batch_items(args, net) -> list[Item] | None:
    """The items of ``args.input`` when it holds several inputs, else None (the one-input path runs)."""
    path = Path(args.input)
    single = path.is_file() and path.suffix.lower() not in (".npy", ".npz")
    if single:
        return None
    layout = getattr(args, "layout", "auto")
    items = read_items(args.input, net, resize=args.resize, scale=args.scale, layout=layout)
    one_array = path.is_file() and len(items) == 1 and path.suffix.lower() == ".npy"
    return None if one_array else items


def run_batch_command(args, kind: str, items: list[Item], out: Path, options: dict, target) -> int:
    """Run the batch and print its summary; the exit code says whether every item succeeded."""
    from smugkit.run.batch import run_batch

    quiet = getattr(args, "quiet", False)
    result = run_batch(
        kind,
        args.model,
        items,
        out,
        options=options,
        target=target,
        executor=args.executor,
        workers=args.workers,
        pictures=not args.no_pictures,
        progress=not quiet,
        model_options={"input_shapes": None, "batch_size": args.batch_size, **_shapes(args)},
    )
    print(f"{len(result.rows)} items: {result.ok} ok, {result.failed} failed")
    for r in result.rows:
        if r.get("status") != "ok":
            print(f"  {r['item']}: {r.get('error', r.get('status'))}", file=sys.stderr)
    print(f"wrote {out}/<item>/, {result.files['results']}, {result.files['summary']}")
    return 1 if result.failed else 0


def _shapes(args) -> dict:
    from smugkit.frontends import parse_shape

    return {"input_shapes": parse_shape(args.input_shape)} if getattr(args, "input_shape", None) else {}
