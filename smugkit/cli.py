"""The `smugkit` command: inspect models, list solver backends, explain predictions."""

from __future__ import annotations

import argparse
import json
import sys
import traceback

from smugkit import __version__
from smugkit.errors import SmugkitError


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-shape", metavar="NAME=D1,D2,...",
                   help="concrete input shape for symbolic dimensions (several separated by ';')")
    p.add_argument("--batch-size", type=int, default=1, help="value for a symbolic batch axis (default 1)")


def _model_kwargs(args) -> dict:
    from smugkit.frontends import parse_shape

    return {"input_shapes": parse_shape(args.input_shape) if args.input_shape else None,
            "batch_size": args.batch_size}


def cmd_inspect(args) -> int:
    from smugkit.inspect import format_summary, summarize

    model = args.model
    if model is None:
        from smugkit import zoo

        model = zoo.model_path("digits_cnn28")
    s = summarize(model, **_model_kwargs(args))
    print(json.dumps(s, indent=2) if args.json else format_summary(s))
    return 0 if s["supported"] else 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smugkit", description="Formally minimal explanations of ONNX models.")
    parser.add_argument("--version", action="version", version=f"smugkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="summarise a model: shapes, layers, first layer, folds and cuts")
    p.add_argument("model", nargs="?", help="ONNX file (default: the bundled digits CNN)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    _add_model_options(p)
    p.set_defaults(func=cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand; errors print one line (exit 2) unless --debug is given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SmugkitError as e:
        if args.debug:
            traceback.print_exc()
        print(f"smugkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("smugkit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug or an unexpected failure inside a dependency
        if args.debug:
            traceback.print_exc()
        print(f"smugkit: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
