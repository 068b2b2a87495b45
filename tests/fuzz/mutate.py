"""A seeded mutation fuzzer for the ONNX frontend: mutated models go through `load_model` and one forward
pass in a forked child with a memory cap and a deadline, and every outcome is classified.

Outcomes: ``typed`` (a `smugkit.errors` error), ``ran`` (loaded and ran), ``untyped`` (any other exception),
``memory`` (MemoryError under the cap), ``crash`` (the child died), ``hang`` (killed at the deadline).
Mutations act on bytes (flips, truncation) and on the protobuf (attributes, dims, initialisers, node
splices, op types, dropped inputs, opsets, element types), as a hostile or careless exporter would.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "models"
OUTCOMES = ("typed", "ran", "untyped", "memory", "crash", "hang")
MEMORY_CAP = 3 << 30  # bytes of address space a case may use beyond the interpreter's own
#: the memory guard's limit inside a case: well under the cap, so a tensor the guard lets through (with the
#: copies a forward pass makes of it) fits; otherwise the verdict would depend on the machine's free memory
GUARD_LIMIT = MEMORY_CAP // 8


def seed_models(shared: bool = True, models: Path = SHARED) -> list[tuple[str, bytes]]:
    """The models mutations start from: the bundled zoo and (``shared``) the third-party models in ``models``."""
    files = sorted((ROOT / "smugkit" / "zoo").glob("*.onnx"))
    if shared and models.is_dir():
        files += sorted(models.rglob("*.onnx"))
    return [(str(f.relative_to(f.parents[1])), f.read_bytes()) for f in files]


# -- mutations -------------------------------------------------------------------------------------------
INT_VALUES = (-7, -1, 0, 1, 2, 3, 5, 1000, 2**31, -(2**40))
FLOAT_VALUES = (float("nan"), float("inf"), -1.0, 0.0, 1e30)
DIM_VALUES = (0, 1, 3, 1 << 16, 1 << 24, 1 << 31)
OP_TYPES = (
    "Relu",
    "Conv",
    "Gemm",
    "MatMul",
    "Add",
    "Reshape",
    "Flatten",
    "MaxPool",
    "Concat",
    "Gather",
    "Pad",
    "Split",
    "Slice",
    "Transpose",
    "Softmax",
    "BatchNormalization",
    "Squeeze",
    "AveragePool",
)


def _bytes_flip(m: onnx.ModelProto, data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for i in rng.integers(0, len(b), size=int(rng.integers(1, 9))):
        b[i] = int(rng.integers(0, 256))
    return bytes(b)


def _truncate(m: onnx.ModelProto, data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def _attribute(m: onnx.ModelProto, data: bytes, rng: np.random.Generator) -> bytes | None:
    nodes = [n for n in m.graph.node if n.attribute]
    if not nodes:
        return None
    a = nodes[int(rng.integers(len(nodes)))].attribute
    a = a[int(rng.integers(len(a)))]
    if a.type == onnx.AttributeProto.INT:
        a.i = int(rng.choice(INT_VALUES))
    elif a.type == onnx.AttributeProto.INTS and len(a.ints):
        k = int(rng.integers(len(a.ints) + 1))
        if k == len(a.ints):
            a.ints.append(int(rng.choice(INT_VALUES)))
        else:
            a.ints[k] = int(rng.choice(INT_VALUES))
    elif a.type == onnx.AttributeProto.FLOAT:
        a.f = float(rng.choice(FLOAT_VALUES))
    elif a.type == onnx.AttributeProto.STRING:
        a.s = rng.choice([b"SAME_UPPER", b"VALID", b"", b"\xff\xfe", b"reflect", b"bogus"]).item()
    else:
        a.type = onnx.AttributeProto.INT
        a.i = int(rng.choice(INT_VALUES))
    return m.SerializeToString()


def _dims(m: onnx.ModelProto, data: bytes, rng: np.random.Generator) -> bytes | None:
    choices = [*m.graph.input, *m.graph.output, *m.graph.value_info]
    if not choices:
        return None
    vi = choices[int(rng.integers(len(choices)))]
    dims = vi.type.tensor_type.shape.dim
    if len(dims) and rng.random() < 0.8:
        dims[int(rng.integers(len(dims)))].dim_value = int(rng.choice(DIM_VALUES))
    else:
        dims.add().dim_value = int(rng.choice(DIM_VALUES))
    return m.SerializeToString()


def _initializer(m: onnx.ModelProto, data: bytes, rng: np.random.Generator) -> bytes | None:
    inits = list(m.graph.initializer)
    if not inits:
        return None
    t = inits[int(rng.integers(len(inits)))]
    arr = numpy_helper.to_array(t)
    kind = int(rng.integers(4))
    if kind == 0 and arr.dtype.kind == "f" and arr.size:
        arr = arr.copy()
        arr.flat[int(rng.integers(arr.size))] = rng.choice([np.nan, np.inf, -np.inf])
        t.CopyFrom(numpy_helper.from_array(arr, t.name))
    elif kind == 1:  # data shorter or longer than the declared dims
        raw = numpy_helper.from_array(arr, t.name).raw_data
        t.ClearField("float_data")
        t.ClearField("int64_data")
        t.raw_data = raw[: len(raw) // 2] if rng.random() < 0.5 else raw + raw[:8]
    elif kind == 2 and len(t.dims):
        t.dims[int(rng.integers(len(t.dims)))] = int(rng.choice(DIM_VALUES))
    else:
        t.data_type = int(rng.choice([TensorProto.INT64, TensorProto.STRING, TensorProto.BOOL, 0, 99]))
    return m.SerializeToString()


def _splice(m: onnx.ModelProto, data: bytes, rng: np.random.Generator) -> bytes | None:
    g = m.graph
    if not g.node:
        return None
    names = (
        [i.name for i in g.input] + [o for n in g.node for o in n.output] + [t.name for t in g.initializer]
    )
    kind = int(rng.integers(4))
    n = g.node[int(rng.integers(len(g.node)))]
    if kind == 0 and n.input:  # rewire an input
        n.input[int(rng.integers(len(n.input)))] = str(rng.choice(names + ["nowhere"]))
    elif kind == 1:  # a copy of a node elsewhere, reading another tensor
        new = g.node.add()
        new.CopyFrom(n)
        new.name = f"{n.name}_copy"
        if new.input:
            new.input[0] = str(rng.choice(names))
    elif kind == 2:
        n.op_type = str(rng.choice(OP_TYPES))
    elif n.input:  # drop an input
        del n.input[int(rng.integers(len(n.input)))]
    return m.SerializeToString()


def _model_level(m: onnx.ModelProto, data: bytes, rng: np.random.Generator) -> bytes | None:
    kind = int(rng.integers(3))
    if kind == 0 and m.opset_import:
        m.opset_import[0].version = int(rng.choice([1, 6, 9, 11, 13, 25, 100]))
    elif kind == 1 and m.graph.input:
        m.graph.input[0].type.tensor_type.elem_type = int(
            rng.choice([TensorProto.INT64, TensorProto.STRING, TensorProto.DOUBLE, TensorProto.FLOAT16, 0])
        )
    elif m.graph.node:  # drop a node: its outputs dangle
        del m.graph.node[int(rng.integers(len(m.graph.node)))]
    return m.SerializeToString()


MUTATIONS: dict[str, Callable[[onnx.ModelProto, bytes, np.random.Generator], bytes | None]] = {
    "byte_flip": _bytes_flip,
    "truncate": _truncate,
    "attribute": _attribute,
    "dims": _dims,
    "initializer": _initializer,
    "splice": _splice,
    "model": _model_level,
}


@dataclass
class Case:
    """One mutated model: where it came from, what was done, and its bytes."""

    index: int
    seed_model: str
    mutation: str
    data: bytes


def cases(n: int, seed: int, shared: bool = True, models: Path = SHARED) -> list[Case]:
    """``n`` mutated models, the same for the same seed; each applies one to three mutations."""
    return list(iter_cases(n, seed, shared, models))


def iter_cases(n: int, seed: int, shared: bool = True, models: Path = SHARED) -> Iterator[Case]:
    """The cases of `cases` one at a time (a long campaign need not hold thousands of models at once)."""
    rng = np.random.default_rng(seed)
    pool = seed_models(shared, models)
    made = 0
    names = sorted(MUTATIONS)
    while made < n:
        name, data = pool[int(rng.integers(len(pool)))]
        steps = []
        for _ in range(int(rng.integers(1, 4))):
            mut = names[int(rng.integers(len(names)))]
            try:
                m = onnx.load_from_string(data)
            except Exception:  # noqa: BLE001 - an earlier byte mutation made it unparseable: mutate bytes
                mut = "byte_flip"
                m = onnx.ModelProto()
            try:
                new = MUTATIONS[mut](m, data, rng)
            except Exception:  # noqa: BLE001 - an earlier mutation broke what this one reads: skip it
                new = None
            if new is not None:
                data, steps = new, [*steps, mut]
        if steps:
            yield Case(made, name, "+".join(steps), data)
            made += 1


# -- the harness -----------------------------------------------------------------------------------------
def _target(data: bytes) -> tuple[str, str]:
    """Load and run one model; the outcome and a short detail (error type and where it came from)."""
    from smugkit.errors import SmugkitError
    from smugkit.frontends import load_model

    try:
        net = load_model(data)
        rng = np.random.default_rng(0)
        feeds = {
            t.name: rng.integers(0, 2, t.shape) if t.dtype.startswith("int") else rng.standard_normal(t.shape)
            for t in net.inputs
        }
        net.run(feeds)
        return "ran", ""
    except SmugkitError as e:
        return "typed", f"{type(e).__name__}: {str(e)[:160]}"
    except MemoryError as e:
        return "memory", f"MemoryError: {str(e)[:120]} at {_where(e)}"
    except Exception as e:  # noqa: BLE001 - what the fuzzer is looking for
        return "untyped", f"{type(e).__name__}: {str(e)[:120]} at {_where(e)}"


def _where(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    own = [f for f in tb if "smugkit" in f.filename] or tb
    f = own[-1]
    return f"{Path(f.filename).name}:{f.lineno}"


def warm() -> None:
    """Import the frontend in the parent once, so that each forked case starts with it loaded.

    Without this every child imports smugkit, onnx's reference evaluator and numpy's submodules afresh:
    about 0.2 s a case, against a few milliseconds for the case itself."""
    import smugkit.errors
    import smugkit.frontends  # noqa: F401


def run_case(data: bytes, seconds: float = 30.0) -> tuple[str, str]:
    """The outcome of one case, computed in a forked child with a memory cap, killed at the deadline."""
    warm()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.environ["SMUGKIT_MAX_BYTES"] = str(GUARD_LIMIT)
            soft = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 + MEMORY_CAP
            resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
            payload = pickle.dumps(_target(data))
        except BaseException as e:  # noqa: BLE001 - anything left is reported, never raised in the child
            payload = pickle.dumps(("untyped", f"{type(e).__name__}: {str(e)[:120]}"))
        with os.fdopen(w, "wb") as f:
            f.write(payload)
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + seconds
    with os.fdopen(r, "rb") as f:
        ready: list = []
        while not ready:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "hang", f"no answer within {seconds:.0f} s"
            ready, _, _ = select.select([f], [], [], left)
        data_out = f.read()
    _, status = os.waitpid(pid, 0)
    if not data_out:
        return "crash", f"child died (wait status {status})"
    return pickle.loads(data_out)


def _child_loop(datas: list[bytes], start: int, count: int, w: int) -> None:
    """In a forked child: run cases ``start .. start+count-1``, one length-prefixed pickled outcome each."""
    try:
        os.environ["SMUGKIT_MAX_BYTES"] = str(GUARD_LIMIT)
        soft = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 + MEMORY_CAP
        resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
        for data in datas[start : start + count]:
            try:
                out = _target(data)
            except BaseException as e:  # noqa: BLE001 - anything left is reported, never raised in the child
                out = ("untyped", f"{type(e).__name__}: {str(e)[:120]}")
            payload = pickle.dumps(out)
            os.write(w, len(payload).to_bytes(4, "little") + payload)
    finally:
        os._exit(0)


def _read(fd: int, n: int, deadline: float) -> bytes | None:
    """``n`` bytes from ``fd`` before ``deadline`` (`TimeoutError` after it), or None at end of file."""
    got = b""
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, n - len(got))
        if not chunk:
            return None
        got += chunk
    return got


def run_cases(datas: list[bytes], seconds: float = 30.0, per_child: int = 50) -> Iterator[tuple[str, str]]:
    """The outcome of each case, in order, like `run_case` but cheaper: one forked child runs up to
    ``per_child`` cases in turn; a case that kills or hangs it is reported, and a new child resumes after it.
    Each case gets ``seconds`` from the previous answer."""
    warm()
    i = 0
    while i < len(datas):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _child_loop(datas, i, per_child, w)
        os.close(w)
        end, status = min(len(datas), i + per_child), None
        try:
            while i < end:
                try:
                    head = _read(r, 4, time.monotonic() + seconds)
                    body = (
                        None
                        if head is None
                        else _read(r, int.from_bytes(head, "little"), time.monotonic() + seconds)
                    )
                except TimeoutError:
                    os.kill(pid, signal.SIGKILL)
                    _, status = os.waitpid(pid, 0)
                    yield "hang", f"no answer within {seconds:.0f} s"
                    i += 1
                    break
                if body is None:
                    _, status = os.waitpid(pid, 0)
                    yield "crash", f"child died (wait status {status})"
                    i += 1
                    break
                yield pickle.loads(body)
                i += 1
        finally:
            os.close(r)
            if status is None:
                os.waitpid(pid, 0)


def campaign(n: int, seed: int, seconds: float, shared: bool = False) -> dict[str, list[str]]:
    """Run ``n`` cases; each outcome's cases as ``"#index model mutations: detail"`` lines."""
    found: dict[str, list[str]] = {k: [] for k in OUTCOMES}
    todo = cases(n, seed, shared)
    for case, (outcome, detail) in zip(todo, run_cases([c.data for c in todo], seconds)):
        found[outcome].append(f"#{case.index} {case.seed_model} {case.mutation}: {detail}")
    return found


def clean_campaign(n: int, seed: int, seconds: float, shared: bool = False) -> dict[str, list[str]]:
    """`campaign` from a freshly spawned interpreter: the cases fork from a process that holds no
    onnxruntime threads or other state of the caller (a test run), so a verdict depends on the case alone."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(campaign, (n, seed, seconds, shared))
