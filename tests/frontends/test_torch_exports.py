"""PyTorch models exported with the TorchScript and the dynamo exporters: IR forward and VJP against torch."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed (optional extra smugkit[torch])")

import onnx

from smugkit.frontends import load_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ir"))  # the op-test helpers
from opcheck import ort_run

TESTS = Path(__file__).resolve().parents[1]


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(12, 16)
        self.fc2 = torch.nn.Linear(16, 8)
        self.out = torch.nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        x = torch.sigmoid(self.fc2(x))
        return self.out(x)


class CNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.c2 = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
        self.fc = torch.nn.Linear(6 * 3 * 3, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.c1(x)))
        x = torch.nn.functional.max_pool2d(x, 2)
        x = torch.nn.functional.leaky_relu(self.c2(x), 0.1)
        x = torch.nn.functional.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)
        return self.fc(torch.flatten(x[:, :, :3, :3], 1))


def _factory(kind: str):
    path = TESTS / "model_factories.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("model_factories", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, f"torch_{kind}", None)


def _export(module, shape, path: Path, dynamo: bool) -> Path:
    torch.manual_seed(0)
    for p in module.parameters():  # non-trivial BatchNorm statistics
        p.data.normal_(0, 0.5)
    if hasattr(module, "bn"):
        module.bn.running_mean.normal_(0, 0.3)
        module.bn.running_var.uniform_(0.5, 1.5)
    module.eval()
    x = torch.randn(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(
                module, (x,), str(path), dynamo=True, input_names=["x"], output_names=["y"], verbose=False
            )
        else:
            torch.onnx.export(
                module,
                (x,),
                str(path),
                dynamo=False,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            )
    return path


CASES = [
    (src, kind, dynamo) for src in ("factory", "local") for kind in ("mlp", "cnn") for dynamo in (False, True)
]


@pytest.fixture(
    scope="module", params=CASES, ids=[f"{s}-{k}-{'dynamo' if d else 'torchscript'}" for s, k, d in CASES]
)
def exported(request, tmp_path_factory):
    source, kind, dynamo = request.param
    if dynamo:
        pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    tmp = tmp_path_factory.mktemp(f"{source}-{kind}{int(dynamo)}")
    if source == "factory":
        factory = _factory(kind)
        if factory is None:
            pytest.skip("tests/model_factories.py has no torch_" + kind)
        path, module = factory(tmp, dynamo)
    else:
        module = MLP() if kind == "mlp" else CNN()
        path = _export(module, (1, 3, 4) if kind == "mlp" else (1, 1, 12, 12), tmp / f"{kind}.onnx", dynamo)
    return Path(path), module.eval()


def test_forward_matches_onnxruntime_and_torch(exported):
    path, module = exported
    net = load_model(path)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(net.input.shape).astype(np.float32)
    y = net(x)
    ref = ort_run(onnx.load(str(path)), {net.input.name: x}, [net.origin.output_names[net.output.name]])[0]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        t = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, t, rtol=1e-4, atol=1e-5)


def test_stack_matches_torch(exported):
    path, module = exported
    net = load_model(path)
    xs = np.random.default_rng(4).standard_normal((4,) + net.input.shape)
    with torch.no_grad():
        t = np.stack([module(torch.from_numpy(x)).double().numpy() for x in xs.astype(np.float32)])
    np.testing.assert_allclose(net(xs), t, rtol=1e-4, atol=1e-5)


def test_vjp_matches_autograd(exported):
    path, module = exported
    net = load_model(path)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(net.input.shape)
    ct = rng.standard_normal(net.output.shape)
    g = net.vjp(x, net.output.name, ct, wrt=[net.input.name])[net.input.name]
    m64 = module.double()
    try:
        xt = torch.tensor(x, requires_grad=True)
        (m64(xt) * torch.from_numpy(ct)).sum().backward()
    finally:
        module.float()
    # exporters fold BatchNorm into float32 weights: allow float32 rounding relative to the gradient's scale
    ref = xt.grad.numpy()
    np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_embedding_text_model(tmp_path, dynamo):
    factory = _factory("embedding_text")
    if factory is None:
        pytest.skip("tests/model_factories.py has no torch_embedding_text")
    if dynamo:
        pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    path, module = factory(tmp_path, dynamo)
    net = load_model(path)
    assert net.input.dtype.startswith("int")
    ids = np.random.default_rng(6).integers(0, 50, net.input.shape).astype(np.int64)
    ref = ort_run(onnx.load(str(path)), {net.input.name: ids}, [net.origin.output_names[net.output.name]])[0]
    np.testing.assert_allclose(net(ids), ref, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(net(ids), module(torch.from_numpy(ids)).numpy(), rtol=1e-4, atol=1e-5)
    lo, hi = net.bounds(ids, ids)[net.output.name]
    np.testing.assert_allclose(lo, net(ids), atol=1e-9)
    np.testing.assert_allclose(hi, net(ids), atol=1e-9)
