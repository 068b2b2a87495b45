"""Text metrics on the planted-rationale set: SMUG vs Integrated Gradients vs occlusion, and time per sentence.

For each of the 60 planted sentences the bundled text CNN is explained with SMUG (first-layer encoding, the
default backend), token IG (zero-embedding baseline) and token occlusion; each method's token scores are
compared with the planted words by ROC AUC, max-F1 and min-MAE (`smugkit.metrics.rationale`), averaged
over sentences (with a Student-t 95% half-width). SMUG is scored three ways: SMUG (SMUG_BASE x minimal
mask), SMUG_BASE alone and the bare mask (0/1). Then SMUG's solve time per backend on the same sentences,
and with the full-network encoding on the first ``--full-n`` of them (each backend solving, and the default
path that enumerates masks of the live tokens by size).

Run from the repository root: python benchmarks/text.py [--top-k 100] [--gamma 0.5] [--ig-steps 200]
                               [--score max|sum] [--backends highs,z3,cvc5] [--timeout 20] [-n 60]
                               [--full-n 3]
Needs nothing beyond smugkit's own dependencies (the backends that are installed).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from smugkit.errors import ModelError, ProblemError
from smugkit.metrics.rationale import localisation_auc, max_f1, min_mae
from smugkit.model import Model
from smugkit.text import explain_text, planted
from smugkit.text.baselines import token_ig, token_occlusion
from smugkit.text.explain import text_model
from smugkit.text.vocab import Vocabulary
from smugkit.text.zoo import text_model_path, text_vocab_path

METRICS = {"AUC": localisation_auc, "max-F1": max_f1, "min-MAE": min_mae}


def mean_ci(values) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if v.size < 2:
        return f"{v.mean():.3f}" if v.size else "n/a"
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return f"{v.mean():.3f} ± {half:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top-k", type=int, default=100)
    ap.add_argument("--gamma", type=float, default=0.5)
    ap.add_argument("--ig-steps", type=int, default=200)
    ap.add_argument("--score", default="max", choices=("max", "sum"), help="SMUG_BASE reduction per token")
    ap.add_argument("--backends", default="highs,z3,cvc5")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("-n", type=int, default=60, help="first N planted sentences (default all 60)")
    ap.add_argument(
        "--full-n", type=int, default=3, help="sentences timed with the full encoding (default 3)"
    )
    args = ap.parse_args()

    vocab = Vocabulary.load(text_vocab_path())
    tm = text_model(text_model_path(), vocab)
    model = Model(tm.network)
    items = planted.load()[: args.n]
    scores: dict[str, dict[str, list[float]]] = {}
    times: dict[str, list[float]] = {}
    agree, certified, sizes = 0, 0, []

    def add(method: str, s: np.ndarray, truth: np.ndarray, seconds: float) -> None:
        for name, fn in METRICS.items():
            scores.setdefault(method, {}).setdefault(name, []).append(fn(s, truth))
        times.setdefault(method, []).append(seconds)

    for it in items:
        enc = vocab.encode(it.text)
        x = tm.embed(enc.ids)
        truth = it.truth(enc.n)
        t = time.perf_counter()
        e = explain_text(
            tm,
            it.text,
            vocab=vocab,
            top_k=args.top_k,
            gamma=args.gamma,
            ig_steps=args.ig_steps,
            score=args.score,
        )
        t_smug = time.perf_counter() - t
        agree += int(e.label == it.label)
        certified += int(e.certified)
        sizes.append(e.mask_size)
        add("SMUG", e.saliency, truth, t_smug)
        add("SMUG_BASE", e.saliency_base, truth, t_smug)
        add("SMUG mask (0/1)", e.mask_bits, truth, t_smug)
        t = time.perf_counter()
        add("IG", token_ig(model, x, e.label, args.ig_steps)[: enc.n], truth, time.perf_counter() - t)
        t = time.perf_counter()
        add("occlusion", token_occlusion(model, x, e.label)[: enc.n], truth, time.perf_counter() - t)

    print(
        f"\nplanted-rationale set: {len(items)} sentences; the model predicts the planted label on {agree}; "
        f"SMUG top-k {args.top_k}, gamma {args.gamma}, score {args.score}, IG steps {args.ig_steps}; "
        f"masks certified {certified}/{len(items)}, mask size median {np.median(sizes):g} tokens"
    )
    print(f"{'method':<17} {'AUC':>15} {'max-F1':>15} {'min-MAE':>15} {'s/sentence':>11}")
    for method, d in scores.items():
        print(
            f"{method:<17} {mean_ci(d['AUC']):>15} {mean_ci(d['max-F1']):>15} {mean_ci(d['min-MAE']):>15} "
            f"{np.mean(times[method]):>11.3f}"
        )

    from smugkit.backends.registry import available_backends

    for encoding, subset in (("first_layer", items), ("full", items[: args.full_n])):
        if not subset:
            continue
        print(
            f"\nSMUG solve time per backend ({encoding} encoding, {len(subset)} sentences, budget {args.timeout:g}s)"
        )
        print(
            f"{'backend':<12} {'optimal':>8} {'solve s median':>15} {'solve s max':>12} {'total s/sentence':>17}"
        )
        rows = args.backends.split(",") + (["enumeration"] if encoding == "full" else [])
        for b in rows:
            # the full encoding: each backend solves (enumerate_bits=0); "enumeration" is the default path,
            # which proves the optimum by trying masks of the (at most 20) live tokens by size
            enumerate_bits = 20 if b == "enumeration" else 0
            b = "highs" if b == "enumeration" else b
            if b not in available_backends():
                print(f"{b:<12} not installed")
                continue
            solve, total, optimal = [], [], 0
            for it in subset:
                try:
                    e = explain_text(
                        tm,
                        it.text,
                        vocab=vocab,
                        top_k=args.top_k,
                        gamma=args.gamma,
                        ig_steps=args.ig_steps,
                        backend=b,
                        timeout=args.timeout,
                        encoding=encoding,
                        enumerate_bits=enumerate_bits,
                    )
                    solve.append(e.timings["solve"])
                    total.append(e.timings["total"])
                    optimal += int(e.status == "optimal")
                except ModelError:  # no mask within the budget (status unknown)
                    solve.append(args.timeout)
                    total.append(args.timeout)
                except ProblemError as err:  # e.g. a pseudo-Boolean backend on ReLU rows
                    print(f"{b:<12} cannot: {str(err).split(': ', 1)[-1]}")
                    break
            else:
                name = "enumeration" if enumerate_bits else b
                print(
                    f"{name:<12} {optimal:>4}/{len(subset):<3} {np.median(solve):>15.3f} {np.max(solve):>12.3f} "
                    f"{np.mean(total):>17.3f}"
                )


if __name__ == "__main__":
    main()
