"""The `smugkit` command: inspect models, list solver backends, explain predictions."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from smugkit import __version__
from smugkit.errors import InputError, SmugkitError


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input-shape",
        metavar="NAME=D1,D2,...",
        help="concrete input shape for symbolic dimensions (several separated by ';')",
    )
    p.add_argument("--batch-size", type=int, default=1, help="value for a symbolic batch axis (default 1)")


def _add_memory_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="refuse any tensor, batch or encoding larger than SIZE, e.g. 2G or 512M (sets SMUGKIT_MAX_BYTES; "
        "default: half the available memory)",
    )


def _model_kwargs(args) -> dict:
    from smugkit.frontends import parse_shape

    return {
        "input_shapes": parse_shape(args.input_shape) if args.input_shape else None,
        "batch_size": args.batch_size,
    }


def cmd_inspect(args) -> int:
    from smugkit.inspect import format_summary, summarize

    model = args.model
    if model is None:
        from smugkit import zoo

        model = zoo.model_path("digits_cnn28")
    s = summarize(model, **_model_kwargs(args))
    print(json.dumps(s, indent=2) if args.json else format_summary(s))
    return 0 if s["supported"] else 2


def _add_explain_options(p: argparse.ArgumentParser) -> None:
    from smugkit.attribution.smug.config import SmugConfig

    p.add_argument("--label", type=int, help="class to explain (default: the predicted one)")
    SmugConfig.add_arguments(p)
    p.add_argument("--out", help="output folder (default: a new smugkit-out-* folder here)")
    p.add_argument("--no-pictures", action="store_true", help="write JSON only, no PNG files")


def _out_dir(args, stem: str) -> Path:
    if args.out:
        return Path(args.out)
    k = 0
    while Path(f"smugkit-out-{stem}-{k}").exists():
        k += 1
    return Path(f"smugkit-out-{stem}-{k}")


def _check_pictures(args) -> None:
    """Pictures need matplotlib: say so before any work starts."""
    if not getattr(args, "no_pictures", True):
        from smugkit.attribution.visualize import require_pictures

        require_pictures()


def _run_explain(net, x, args, stem: str) -> int:
    from smugkit.attribution.smug import SmugConfig, explain

    with _Progress(args) as progress:
        e = explain(net, x, SmugConfig.from_arguments(args), label=args.label, progress=progress)
    folder = _out_dir(args, stem)
    files = e.save(folder, pictures=not args.no_pictures)
    print(e.summary())
    print(f"wrote {', '.join(str(p) for p in files.values())}")
    return 0 if e.certified or e.certificate is None else 1


class _Progress:
    """Stage messages on stderr while IG, encoding and the solver run (silent with --quiet)."""

    def __init__(self, args) -> None:
        self.quiet = getattr(args, "quiet", False)
        self.t0 = time.perf_counter()
        self.live = None  # a redrawn line during a long solve: incumbent, bound, elapsed budget

    def __enter__(self):
        if not self.quiet:
            from smugkit.run.live import LiveLine

            self.live = LiveLine().__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def __call__(self, stage: str) -> None:
        if not self.quiet:
            if self.live is not None:
                self.live.clear()
            print(f"[{time.perf_counter() - self.t0:6.2f}s] {stage}", file=sys.stderr, flush=True)


def cmd_explain(args) -> int:
    from smugkit.frontends import load_model
    from smugkit.run.cli_batch import batch_items, run_batch_command

    if args.text is not None or args.vocab is not None:
        return _explain_text(args)
    if args.input is None:
        raise InputError("give an input file (or --text with --vocab for a text model)")
    from smugkit.units.inputs import read_input

    net = load_model(args.model, **_model_kwargs(args))
    items = batch_items(args, net)
    if items is not None:  # many inputs: one folder each, resumable (smugkit.run.batch)
        from dataclasses import asdict

        from smugkit.attribution.smug import SmugConfig

        options = asdict(SmugConfig.from_arguments(args))
        return run_batch_command(
            args, "explain", items, _out_dir(args, Path(args.input).stem), options, args.label
        )
    x = read_input(args.input, net, resize=args.resize, scale=args.scale, layout=args.layout)
    return _run_explain(net, x, args, Path(args.input).stem)


def _explain_text(args) -> int:
    from smugkit.text.cli import read_ids, run_text_explain

    if args.vocab is None:
        raise InputError("a text model needs its vocabulary: --vocab VOCAB.json")
    if (args.text is None) == (args.input is None):
        raise InputError("give the text with --text, or a .json/.npy file of token ids (one of them)")
    ids = read_ids(args.input) if args.input is not None else None
    with _Progress(args) as progress:
        return run_text_explain(
            args,
            args.model,
            args.vocab,
            text=args.text,
            ids=ids,
            out=_out_dir(args, "text"),
            progress=progress,
        )


def _method_options(pairs: list[str]) -> dict:
    """``-o key=value`` pairs as keyword options; values are read as JSON when they parse, else as text."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"method option {pair!r} is not KEY=VALUE")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except ValueError:
            out[key.replace("-", "_")] = value
    return out


def cmd_attribute(args) -> int:
    _check_pictures(args)
    import numpy as np

    from smugkit.attribution import attribute
    from smugkit.frontends import load_model
    from smugkit.model import Model
    from smugkit.run.cli_batch import batch_items, run_batch_command
    from smugkit.units import detect_layout
    from smugkit.units.inputs import read_input

    net = load_model(args.model, **_model_kwargs(args))
    items = batch_items(args, net)
    if items is not None:  # many inputs: one folder each, resumable (smugkit.run.batch)
        options = {"method": args.method, "gradients": args.gradients, **_method_options(args.option or [])}
        out = _out_dir(args, f"{Path(args.input).stem}-{args.method}")
        return run_batch_command(args, "attribute", items, out, options, args.target)
    x = read_input(args.input, net, resize=args.resize, scale=args.scale, layout="auto")
    a = attribute(
        Model(net, gradients=args.gradients) if args.gradients else net,
        x,
        method=args.method,
        target=args.target,
        **_method_options(args.option or []),
    )
    image = None
    if a.tensor == net.input.name and not args.no_pictures:
        try:
            image = detect_layout(net).to_hwc(x)
        except InputError:  # not an image: the record and the values only
            image = None
    files = a.save(_out_dir(args, f"{Path(args.input).stem}-{args.method}"), image=image)
    v = a.values.reshape(-1)
    top = np.argsort(-np.abs(v), kind="stable")[:5]
    print(
        f"{a.method} for class {a.target} over {a.tensor!r} {list(a.values.shape)}: sum {v.sum():.6g}, "
        f"largest |value| at flat indices {top.tolist()}; {a.timings['total']:.2f}s"
    )
    print(f"wrote {', '.join(str(p) for p in files.values())}")
    return 0


def cmd_methods(args) -> int:
    """List the attribution methods: name, what they need from the model, options and defaults."""
    from dataclasses import MISSING, fields

    from smugkit.attribution import METHODS

    for name in sorted(METHODS):
        cls = METHODS[name]
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        needs = ", ".join(sorted(cls.needs)) or "nothing"
        print(f"{name}  (needs {needs})  {doc}")
        for f in fields(cls.Options):
            default = f.default if f.default is not MISSING else "(required)"
            print(f"    {f.name} = {default!r}")
    return 0


def _say_what_is_missing(args, panel: bool) -> None:
    """Before the demo solves: name the optional parts this install lacks and what that costs."""
    import importlib.util

    if getattr(args, "quiet", False):
        return
    if getattr(args, "backend", None) is None and importlib.util.find_spec("highspy") is None:
        print(
            "note: highspy (HiGHS, the fast default solver) is not installed, so z3 solves: about 3x slower "
            "on this demo, and it proves fewer optima on larger problems (pip install highspy)",
            file=sys.stderr,
        )
    if panel and not args.no_pictures and importlib.util.find_spec("matplotlib") is None:
        print(
            "note: matplotlib is not installed: saliency.png and mask.png are written, the annotated "
            "panel.png is not (pip install 'smugkit[viz]')",
            file=sys.stderr,
        )


def cmd_demo(args) -> int:
    from smugkit import zoo
    from smugkit.frontends import load_model

    _say_what_is_missing(args, panel=args.task != "text")
    if args.task == "text":
        from smugkit.text import zoo as text_zoo
        from smugkit.text.cli import DEMO_TEXT, run_text_explain

        text = args.text or DEMO_TEXT
        print(f"explaining {text!r} with the bundled text_cnn (sentiment of short texts)")
        with _Progress(args) as progress:
            return run_text_explain(
                args,
                text_zoo.text_model_path(),
                text_zoo.text_vocab_path(),
                text=text,
                labels=text_zoo.text_labels(),
                out=_out_dir(args, "demo-text"),
                progress=progress,
            )

    net = load_model(zoo.model_path(args.model))
    images, labels = zoo.model_samples(args.model)
    if not 0 <= args.sample < len(images):
        raise InputError(f"--sample must be in 0..{len(images) - 1}")
    print(
        f"explaining bundled digit #{args.sample} (true label {int(labels[args.sample])}) with {args.model}"
    )
    return _run_explain(net, images[args.sample], args, "demo")


def cmd_backends(args) -> int:
    from smugkit import backends

    rows = backends.describe_backends()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'backend':<14} {'available':<10} {'version':<14} capabilities / reason")
    for r in rows:
        caps = ", ".join(r.get("capabilities", [])) if r.get("available") else r.get("reason", "")
        print(
            f"{r['name']:<14} {'yes' if r.get('available') else 'no':<10} {r.get('version') or ''!s:<14} {caps}"
        )
    print(f"default: {backends.DEFAULT_BACKEND}")
    from smugkit.backends.registry import prover_names

    print(f"provers for a MILP backend (e.g. highs+exact): {', '.join(prover_names())}")
    return 0


def cmd_bench(args) -> int:
    from smugkit.bench import load_suite, run_bench
    from smugkit.run.executors import parse_executor

    specs = load_suite(args.suite)
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not names:
        raise InputError("--backends is empty")
    result = run_bench(
        specs,
        names,
        timeout=args.timeout,
        repeat=args.repeat,
        out=args.out,
        seed=args.seed,
        progress=not args.quiet,
        executor=parse_executor(args.executor, args.workers),
    )
    print(f"wrote {', '.join(str(p) for p in result.files.values())}")
    return 3 if result.disagreements else 0


def _scoped_options(pairs: list[str], what: str) -> dict[str, dict]:
    """``NAME.key=value`` pairs as ``{NAME: {key: value}}`` (values read as JSON when they parse)."""
    out: dict[str, dict] = {}
    for pair in pairs:
        scope, dot, rest = pair.partition(".")
        if not dot or not scope:
            raise InputError(f"{what} option {pair!r} is not NAME.KEY=VALUE")
        out.setdefault(scope, {}).update(_method_options([rest]))
    return out


def _names(text: str, what: str) -> list[str]:
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise InputError(f"--{what} is empty")
    return names


def cmd_evaluate(args) -> int:
    _check_pictures(args)
    from functools import partial

    from smugkit.evaluation.runner import format_table
    from smugkit.run.executors import parse_executor
    from smugkit.text.cli import is_text_model, text_evaluation

    if is_text_model(args.model, args.vocab):
        run, data, (methods, metrics), noun = text_evaluation(args)
    else:
        from smugkit import zoo
        from smugkit.evaluation import evaluate_methods, load_data
        from smugkit.frontends import load_model
        from smugkit.model import Model

        bundled = args.model in zoo.list_models()
        net = load_model(zoo.model_path(args.model) if bundled else args.model, **_model_kwargs(args))
        data = load_data(args.data, net, model_name=args.model if bundled else None, n=args.n)
        run = partial(evaluate_methods, Model(net, gradients=args.gradients), data)
        methods, metrics, noun = "smug,ig,gradient", "sparseness", "item"
    result = run(
        _names(args.methods or methods, "methods"),
        _names(args.metrics or metrics, "metrics"),
        _out_dir(args, "evaluate"),
        method_options=_scoped_options(args.method_option or [], "method"),
        metric_options=_scoped_options(args.metric_option or [], "metric"),
        n_examples=args.examples,
        pictures=not args.no_pictures,
        progress=not args.quiet,
        executor=parse_executor(args.executor, args.workers),
    )
    failed = sum(1 for r in result["rows"] if r and r.get("status") == "error")
    print(
        f"{len(data)} {noun}s from {data.source}"
        + (f"; {failed} ({noun}, method) runs failed" if failed else "")
    )
    print(format_table(result["table"]))
    print(f"wrote {', '.join(str(p) for p in result['files'].values())}")
    return 0


def cmd_metrics(args) -> int:
    """List the metrics: name, direction, what they need, options and defaults."""
    from dataclasses import MISSING, fields

    from smugkit.metrics import METRICS

    for name in sorted(METRICS):
        cls = METRICS[name]
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        needs = ", ".join(sorted(cls.needs) + (["truth"] if cls.needs_truth else [])) or "the map only"
        better = "higher" if cls.higher_is_better else "lower"
        print(f"{name}  ({better} is better; needs {needs})  {doc}")
        for f in fields(cls.Options):
            default = f.default if f.default is not MISSING else "(required)"
            print(f"    {f.name} = {default!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smugkit", description="Formally minimal explanations of ONNX models."
    )
    parser.add_argument("--version", action="version", version=f"smugkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="summarise a model: shapes, layers, first layer, folds and cuts")
    p.add_argument("model", nargs="?", help="ONNX file (default: the bundled digits CNN)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _add_model_options(p)
    p.set_defaults(func=cmd_inspect)

    from smugkit.run.cli_batch import INPUTS_HELP, add_batch_options

    p = sub.add_parser("explain", help="explain a prediction with a minimal, certified input mask (SMUG)")
    p.add_argument("model", help="ONNX file")
    p.add_argument("input", nargs="?", help=INPUTS_HELP + "; token ids for a text model")
    add_batch_options(p)
    p.add_argument("--resize", action="store_true", help="resize an image to the model's input size")
    p.add_argument("--scale", type=float, help="multiply input values by this (images default to 1/255)")
    p.add_argument("--text", help="text model: the text to explain (one mask bit per token)")
    p.add_argument("--vocab", help="text model: its vocabulary JSON (see smugkit.text.vocab)")
    _add_model_options(p)
    _add_memory_option(p)
    _add_explain_options(p)
    p.set_defaults(func=cmd_explain)

    from smugkit.attribution import METHODS

    p = sub.add_parser("attribute", help="attribute a prediction with any registered method (JSON record)")
    p.add_argument("model", help="ONNX file")
    p.add_argument("input", help=INPUTS_HELP)
    add_batch_options(p)
    p.add_argument("--method", default="integrated_gradients", choices=sorted(METHODS))
    p.add_argument("--target", type=int, help="class to attribute (default: the predicted one)")
    p.add_argument("--gradients", help="gradient provider: ir, onnx or fd (default: the fastest exact one)")
    p.add_argument(
        "-o", "--option", action="append", metavar="KEY=VALUE", help="a method option, e.g. -o n_steps=64"
    )
    p.add_argument(
        "--out",
        help="output folder for attribution.json, .npy and .png, or a .json file for the record alone "
        "(default: a new smugkit-out-* folder here)",
    )
    p.add_argument("--no-pictures", action="store_true", help="no PNG file")
    p.add_argument("--resize", action="store_true", help="resize an image to the model's input size")
    p.add_argument("--scale", type=float, help="multiply input values by this (images default to 1/255)")
    _add_memory_option(p)
    _add_model_options(p)
    p.set_defaults(func=cmd_attribute)

    p = sub.add_parser("methods", help="list the attribution methods with their options and defaults")
    p.set_defaults(func=cmd_methods)

    p = sub.add_parser("metrics", help="list the evaluation metrics with their options and defaults")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser(
        "evaluate", help="every method x metric over a data set: a table and figures (resumable)"
    )
    p.add_argument(
        "--model", required=True, help="ONNX file or a bundled model name (e.g. digits_cnn28, text_cnn)"
    )
    p.add_argument(
        "--data", help=".npz (x, y, boxes), .npy or a folder of images (default: the zoo test set)"
    )
    p.add_argument(
        "--methods",
        help="comma-separated methods or presets (ig, ig_bw); default smug,ig,gradient "
        "(text models: smug,ig,occlusion)",
    )
    p.add_argument(
        "--metrics",
        help="comma-separated metrics (see `smugkit metrics`); default sparseness "
        "(text models: rationale_auc,rationale_max_f1,rationale_min_mae)",
    )
    p.add_argument(
        "--vocab",
        help="text model: its vocabulary JSON (bundled text models need none; --data: .json/.jsonl)",
    )
    p.add_argument("-n", type=int, help="evaluate the first N items")
    p.add_argument("--gradients", default="ir", help="gradient provider: ir, onnx or fd (default ir)")
    p.add_argument("--method-option", action="append", metavar="METHOD.KEY=VALUE", help="e.g. smug.top_k=50")
    p.add_argument("--metric-option", action="append", metavar="METRIC.KEY=VALUE")
    p.add_argument("--examples", type=int, default=4, help="items shown in examples.png (default 4)")
    p.add_argument("--out", help="output folder; rerun with the same folder to resume")
    p.add_argument("--no-pictures", action="store_true", help="table only, no PNG files")
    add_batch_options(p, default="serial")
    _add_memory_option(p)
    _add_model_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="explain a bundled digit with a bundled model")
    p.add_argument("--model", default="digits_cnn28", help="bundled model (default digits_cnn28)")
    p.add_argument("--sample", type=int, default=0, help="which bundled digit (default 0)")
    p.add_argument("--task", choices=("digits", "text"), default="digits", help="digits (default) or text")
    p.add_argument("--text", help="--task text: the sentence to explain (default: a bundled one)")
    _add_explain_options(p)
    p.set_defaults(func=cmd_demo, window=2)

    p = sub.add_parser("bench", help="compare solver backends on SMUG instances")
    p.add_argument(
        "--suite",
        default="smoke",
        help="smoke, digits, dense, scale, full, text, or a JSON file of instances",
    )
    p.add_argument(
        "--backends",
        default="highs,z3,cvc5,reference",
        help="comma-separated backends (name or name@strategy; 'reference' is the original encoding)",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="wall-clock budget per run in seconds")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="bench-out", help="output folder; rerunning resumes finished runs")
    add_batch_options(p, default="serial")  # serial: runs that share no cores have comparable times
    _add_memory_option(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("backends", help="list solver backends with versions and capabilities")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backends)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand; errors print one line (exit 2) unless --debug is given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "max_memory", None) is not None:
            from smugkit.guard import set_max_bytes

            set_max_bytes(args.max_memory)
        return args.func(args)
    except SmugkitError as e:
        if args.debug:
            traceback.print_exc()
        print(f"smugkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("smugkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped early: not an error of ours
        # stdout's buffer cannot be flushed any more; point it at devnull so the exit does not complain
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 -- a bug or an unexpected failure inside a dependency
        if args.debug:
            traceback.print_exc()
        print(
            f"smugkit: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
