"""PyTorch modules are exported to ONNX on the fly for `attribute` and `explain`."""

from __future__ import annotations

import numpy as np
import pytest

import smugkit
from smugkit.errors import InputError
from smugkit.model import Model

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def module():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 4)
    )


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).random((1, 1, 8, 8))


def test_attribute_on_a_module_matches_torch_autograd(module, x):
    a = smugkit.attribute(module, x, method="gradient", target=2, kind="logit")
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    module(xt)[0, 2].backward()
    assert np.allclose(a.values, xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        logits = module(torch.tensor(x, dtype=torch.float32)).numpy()
    assert np.allclose(Model(module, example=x).scores(x), logits, rtol=1e-4, atol=1e-5)


def test_explain_on_a_module_certifies_its_mask(module, x):
    e = smugkit.explain(module, x, top_k=8, ig_steps=16, window=2, backend="highs")
    assert e.certified and e.mask_size <= 16


def test_a_module_without_an_example_input_is_a_typed_error(module):
    with pytest.raises(InputError, match="needs an example input"):
        Model(module)
