"""`smugkit evaluate` on text models: methods x token-rationale metrics over sentences with rationales.

The model is cut at its embedding look-up (`smugkit.text.cut`). Every method explains the embedded sentence
and gives one score per real token (padding left out), which the rationale metrics (`rationale_auc`,
`rationale_max_f1`, `rationale_min_mae`) compare with the sentence's rationale tokens:

- ``smug``: SMUG with one mask bit per token (`explain_text`), SMUG_BASE x the minimal mask;
- ``smug_base``: SMUG_BASE per token, no solver;
- ``occlusion``: the drop of the label's probability when one token is zeroed;
- ``ig``: Integrated Gradients of the probability from the all-padding (zero-embedding) text;
- any other registry method: run on the embedded input, its values summed over each token's embedding.

Data: the bundled planted-rationale set for a bundled text model, or a ``.json`` (``{"items": [...]}`` or a
list) / ``.jsonl`` file of items ``{"text": str | "ids": [int], "label": int?, "rationale": [int]?}``,
``rationale`` being token positions. Rows go to ``results.jsonl`` as they finish (resumable, like images).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from smugkit.errors import InputError
from smugkit.evaluation.runner import MethodSpec, method_specs, score_metrics, summarise, write_table
from smugkit.model import Model
from smugkit.records import plain
from smugkit.run import Job, JobStore, job_id, run_jobs
from smugkit.text.cut import TextModel
from smugkit.text.vocab import Encoded, TruncationWarning, Vocabulary

#: presets of the text evaluation: IG from the zero embedding, on the label's probability
TEXT_PRESETS: dict[str, tuple[str, dict]] = {
    "ig": ("integrated_gradients", {"baseline": "zeros", "kind": "probability"}),
}
DEFAULT_TEXT_METHODS = ("smug", "ig", "occlusion")
DEFAULT_TEXT_METRICS = ("rationale_auc", "rationale_max_f1", "rationale_min_mae")


@dataclass(frozen=True)
class TextItem:
    """One sentence: its text or token ids, its true label and its rationale (token positions), if known."""

    text: str | None = None
    ids: tuple[int, ...] | None = None
    label: int | None = None
    rationale: tuple[int, ...] | None = None

    def encode(self, vocab: Vocabulary) -> tuple[Encoded, list[str]]:
        """The model ids of the item, and the truncation warnings it raised."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncationWarning)
            enc = vocab.encode(self.text) if self.text is not None else vocab.encode_ids(self.ids)
        return enc, [str(w.message) for w in caught]

    def truth(self, n: int) -> np.ndarray | None:
        """The rationale as booleans over the first ``n`` tokens (positions past a truncation dropped)."""
        if self.rationale is None:
            return None
        t = np.zeros(n, dtype=bool)
        t[[i for i in self.rationale if i < n]] = True
        return t


@dataclass
class TextData:
    """The sentences of a text evaluation, in file order."""

    items: list[TextItem]
    source: str

    def __len__(self) -> int:
        return len(self.items)


def load_text_data(
    source: str | Path | None, model_name: str | None = None, n: int | None = None
) -> TextData:
    """The sentences from ``source`` (see the module docstring), or a bundled model's planted set."""
    if n is not None and n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    if source is None:
        if model_name is None:
            raise InputError("no data given: pass --data (a .json or .jsonl of sentences)")
        from smugkit.text import planted

        data = TextData(
            [TextItem(text=p.text, label=p.label, rationale=p.rationale) for p in planted.load()],
            f"planted-rationale set ({planted.PATH.name})",
        )
    else:
        data = TextData(_read_items(Path(source)), str(source))
    if not data.items:
        raise InputError(f"{data.source}: no sentences")
    if n is not None:
        data.items = data.items[:n]
    return data


def _read_items(path: Path) -> list[TextItem]:
    if not path.is_file():
        raise InputError(f"data not found: {path}")
    try:
        text = path.read_text()
        if path.suffix.lower() == ".jsonl":
            raw = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif path.suffix.lower() == ".json":
            doc = json.loads(text)
            raw = doc["items"] if isinstance(doc, dict) and "items" in doc else doc
        else:
            raise InputError(f"{path}: text data must be a .json or .jsonl file of sentences")
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{path}: cannot read the sentences: {e}") from e
    if not isinstance(raw, list):
        raise InputError(f"{path}: expected a list of items (or {{'items': [...]}})")
    return [_item(d, f"{path}: item {i}") for i, d in enumerate(raw)]


def _item(d, where: str) -> TextItem:
    if not isinstance(d, dict) or (("text" in d) == ("ids" in d)):
        raise InputError(f"{where}: needs exactly one of 'text' (a string) and 'ids' (token ids)")
    if "text" in d and not isinstance(d["text"], str):
        raise InputError(f"{where}: 'text' must be a string, got {type(d['text']).__name__}")
    ints = lambda v: isinstance(v, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)
    if "ids" in d and not ints(d["ids"]):
        raise InputError(f"{where}: 'ids' must be a list of integers")
    label = d.get("label")
    if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
        raise InputError(f"{where}: 'label' must be an integer class, got {label!r}")
    rationale = d.get("rationale")
    if rationale is not None and not (ints(rationale) and all(i >= 0 for i in rationale)):
        raise InputError(f"{where}: 'rationale' must be a list of token positions (integers >= 0)")
    return TextItem(
        text=d.get("text"),
        ids=None if "ids" not in d else tuple(d["ids"]),
        label=label,
        rationale=None if rationale is None else tuple(rationale),
    )


@dataclass(frozen=True)
class _TextTask:
    """What every (sentence, method) job shares (module level, so jobs can run in worker processes)."""

    text_model: TextModel
    vocab: Vocabulary
    model: Model
    metrics: tuple[str, ...]
    metric_options: dict


def evaluate_text(
    text_model: TextModel,
    vocab: Vocabulary,
    data: TextData,
    methods: Sequence[str] = DEFAULT_TEXT_METHODS,
    metrics: Sequence[str] = DEFAULT_TEXT_METRICS,
    out: str | Path = "smugkit-evaluate-text",
    *,
    method_options: dict[str, dict] | None = None,
    metric_options: dict[str, dict] | None = None,
    n_examples: int = 4,
    pictures: bool = True,
    progress: bool = False,
    executor="serial",
) -> dict:
    """Every method x metric on ``data``; returns the rows, the table and the files written in ``out``.

    Finished (sentence, method) rows in ``out/results.jsonl`` are not run again. ``examples.html`` shows
    the first ``n_examples`` sentences coloured by each method's scores; ``metrics.png`` the table as bars.
    """
    from smugkit.evaluation.runner import check_metrics

    if text_model.length != vocab.length:
        raise InputError(f"vocabulary length {vocab.length} differs from the model's {text_model.length}")
    specs = method_specs(list(methods), method_options, TEXT_PRESETS)
    check_metrics(list(metrics), metric_options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    task = _TextTask(text_model, vocab, Model(text_model.network), tuple(metrics), metric_options or {})
    jobs = [Job(job_id(i, s.label), (i, s, it)) for i, it in enumerate(data.items) for s in specs]
    rows = run_jobs(
        jobs,
        partial(_evaluate_sentence, task),
        JobStore(out / "results.jsonl"),
        executor=executor,
        progress=progress,
        desc="evaluate",
        unit="sentence",
    )
    table = summarise(rows, list(metrics))
    files = {"results": out / "results.jsonl", **write_table(table, out)}
    files["examples"] = _examples_html(rows, [s.label for s in specs], n_examples, out / "examples.html")
    if pictures:
        from smugkit.evaluation import plots

        files["bars"] = plots.metric_bars(table, out / "metrics.png")
    return {"rows": rows, "table": table, "files": files}


def _evaluate_sentence(task: _TextTask, job: Job) -> dict:
    """One (sentence, method) row: the token scores, their time and every metric's value or error."""
    i, spec, item = job.payload
    enc, truncation = item.encode(task.vocab)
    x = task.text_model.embed(enc.ids)
    target = int(task.model.probs(x).reshape(-1).argmax())
    t0 = time.perf_counter()
    scores, diagnostics = token_scores(task, spec, item, enc, x, target)
    from smugkit.attribution.base import Attribution

    a = Attribution(
        values=scores,
        method=spec.label,
        target=target,
        tensor="tokens",
        model=task.text_model.source,
        options=spec.options,
        diagnostics=diagnostics,
    )
    row = {
        "item": i,
        "method": spec.label,
        "target": target,
        "label": item.label,
        "method_s": time.perf_counter() - t0,
        "tokens": list(enc.tokens),
        "unknown": len(enc.unknown),
        "truncated": enc.truncated,
        "warnings": truncation,
        "scores": scores.tolist(),
        "diagnostics": {k: v for k, v in diagnostics.items() if k != "mask_bits"},
        "mask_bits": diagnostics.get("mask_bits"),
        "metrics": {},
        "details": {},
        "errors": {},
    }
    score_metrics(row, a, task.metrics, task.metric_options, task.model, x, item.truth(enc.n))
    return plain(row)


def token_scores(
    task: _TextTask, spec: MethodSpec, item: TextItem, enc: Encoded, x: np.ndarray, target: int
) -> tuple[np.ndarray, dict]:
    """One score per real token by the method of ``spec`` (see the module docstring), with diagnostics."""
    from smugkit.attribution import get_method
    from smugkit.text.baselines import token_occlusion, token_smug_base

    n = enc.n
    if spec.name == "smug":
        from smugkit.text.explain import explain_text

        e = explain_text(task.text_model, vocab=task.vocab, ids=enc.ids, label=target, **spec.options)
        diagnostics = {
            "status": e.status,
            "mask_size": e.mask_size,
            "certified": e.certified,
            "lower_bound": e.lower_bound,
            "mask_bits": e.mask_bits.astype(int).tolist(),
        }
        return np.asarray(e.saliency, dtype=np.float64), diagnostics
    if spec.name == "smug_base":
        o = get_method("smug_base", **spec.options).options  # validated options
        s = token_smug_base(task.model, x, target, o.top_k, o.ig_steps, o.score, o.seed)
        return s[:n], {}
    if spec.name == "occlusion":
        if spec.options:
            raise InputError(f"token occlusion takes no options, got {sorted(spec.options)}")
        return token_occlusion(task.model, x, target)[:n], {}
    a = get_method(spec.name, **spec.options).attribute(task.model, x, target=target)
    values = np.asarray(a.values, dtype=np.float64)
    if values.shape != x.shape:
        raise InputError(f"method {spec.label!r} gave values of shape {list(values.shape)}, not the input's")
    per_token = values.reshape(-1, x.shape[-1]).sum(axis=1)
    return per_token[:n], {k: v for k, v in a.diagnostics.items() if np.isscalar(v)}


def _examples_html(rows: list[dict], methods: list[str], n_examples: int, path: Path) -> Path:
    """The first sentences, one line per method, tokens coloured by score (the SMUG mask underlined)."""
    import html

    from smugkit.text.render import html_snippet

    by_key = {(r["item"], r["method"]): r for r in rows if r and "scores" in r}
    items = sorted({i for i, _ in by_key})[:n_examples]
    parts = ["<!doctype html><meta charset='utf-8'><title>smugkit evaluate: examples</title>"]
    for i in items:
        parts.append(f"<h3>sentence {i}</h3><table>")
        for m in methods:
            r = by_key.get((i, m))
            if r is None:
                continue
            snippet = html_snippet(r["tokens"], r["scores"], r.get("mask_bits"))
            parts.append(f"<tr><td><b>{html.escape(m)}</b></td><td>{snippet}</td></tr>")
        parts.append("</table>")
    path.write_text("\n".join(parts))
    return path
