"""SMUG on the bundled cluttered-digits CNN: does the minimal mask land on the digit rather than the clutter?

Run: python benchmarks/smug_cluttered.py [--samples 20] [--window 2] [--top-k 100] [--gamma 0.5]
                                         [--backend highs] [--timeout 30]

For the first ``--samples`` items of the bundled cluttered test set (`smugkit.zoo.cluttered_test_set`) it
explains the model's prediction with SMUG and prints, per item and as medians: the mask size (windows and
pixels), the wall time, the share of the mask's pixels inside the digit's true box and on the digit's own
pixels, two references for the box share (the box's share of the image, what a uniformly random mask
scores; the box's share of the lit pixels, what a mask of random lit pixels scores: a minimal mask never
keeps a black window, masking it changes nothing), and whether the masked input keeps the label on the real model (onnxruntime).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from smugkit import zoo
from smugkit.attribution.smug import explain
from smugkit.model import Model


def box_plane(box: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A boolean (H, W) plane of a (top, left, bottom, right) box, bottom/right exclusive."""
    t, left, b, r = (int(v) for v in box)
    plane = np.zeros(shape, dtype=bool)
    plane[t:b, left:r] = True
    return plane


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--window", type=int, default=2)
    ap.add_argument("--top-k", type=int, default=100)
    ap.add_argument("--gamma", type=float, default=0.5)
    ap.add_argument("--backend", default=None, help="default: the fastest installed")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()

    x, labels, boxes, masks = zoo.cluttered_test_set()
    model = Model(zoo.model_path("cluttered_cnn"))
    print(
        f"cluttered_cnn, first {args.samples} test items, window {args.window}, top-k {args.top_k}, "
        f"gamma {args.gamma}, backend {args.backend or 'default'}, budget {args.timeout:g}s"
    )
    head = (
        f"{'item':>4} {'label':>5} {'pred':>4} {'status':>8} {'windows':>7} {'pixels':>6} {'s':>6} "
        f"{'in box':>6} {'on digit':>8} {'box area':>8} {'lit in box':>10} {'kept':>5}"
    )
    print(head)
    rows = []
    for i in range(args.samples):
        t0 = time.perf_counter()
        e = explain(
            model,
            x[i],
            window=args.window,
            top_k=args.top_k,
            gamma=args.gamma,
            backend=args.backend,
            timeout=args.timeout,
        )
        seconds = time.perf_counter() - t0
        kept = e.mask_plane > 0
        box = box_plane(boxes[i], kept.shape)
        lit = x[i, 0] > 0
        n_px = int(kept.sum())
        row = {
            "item": i,
            "label": int(labels[i]),
            "pred": int(e.label),
            "status": e.status,
            "windows": int(e.mask_size),
            "pixels": n_px,
            "seconds": seconds,
            "in_box": float((kept & box).sum() / n_px) if n_px else float("nan"),
            "on_digit": float((kept & masks[i]).sum() / n_px) if n_px else float("nan"),
            "box_area": float(box.mean()),
            "lit_in_box": float((lit & box).sum() / lit.sum()),
            "keeps_label": bool(e.certificate and e.certificate["keeps_label"]),
        }
        rows.append(row)
        print(
            f"{i:>4} {row['label']:>5} {row['pred']:>4} {row['status']:>8} {row['windows']:>7} {n_px:>6} "
            f"{seconds:>6.2f} {row['in_box']:>6.2f} {row['on_digit']:>8.2f} {row['box_area']:>8.2f} {row['lit_in_box']:>10.2f} "
            f"{'yes' if row['keeps_label'] else 'NO':>5}",
            flush=True,
        )

    def med(key: str) -> float:
        return float(np.nanmedian([r[key] for r in rows]))

    n = len(rows)
    print(
        f"\nmedian over {n}: mask {med('windows'):.0f} windows = {med('pixels'):.0f} pixels "
        f"({med('pixels') / x[0, 0].size:.1%} of the image), {med('seconds'):.2f} s per explanation; "
        f"mask pixels inside the true box {med('in_box'):.0%} (mean {np.nanmean([r['in_box'] for r in rows]):.0%}), "
        f"on the digit's own pixels {med('on_digit'):.0%}; references: box area {med('box_area'):.0%} of the "
        f"image, lit pixels inside the box {med('lit_in_box'):.0%}; "
        f"label kept {sum(r['keeps_label'] for r in rows)}/{n}; optimal {sum(r['status'] == 'optimal' for r in rows)}/{n}; "
        f"correctly classified {sum(r['label'] == r['pred'] for r in rows)}/{n}"
    )


if __name__ == "__main__":
    main()
