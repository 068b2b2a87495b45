"""PyTorch modules as models: exported to ONNX on the fly (the ``[torch]`` extra), then loaded like any file.

The legacy TorchScript exporter (``dynamo=False``) is used: it needs torch alone and gives the plain
op set the frontend reads; the example input fixes the shapes.
"""

from __future__ import annotations

import io
import sys
import warnings

import numpy as np

from smugkit.errors import InputError, ModelError


def is_torch_module(obj) -> bool:
    """True for a ``torch.nn.Module`` (without importing torch when it is not loaded already)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def export_module(module, example, opset: int = 17) -> bytes:
    """The ONNX bytes of ``module`` (put in eval mode) traced on ``example`` (an array of the input's shape)."""
    try:
        import torch
    except ImportError as e:  # pragma: no cover - a module object implies torch is importable
        raise InputError("PyTorch models need the torch extra: pip install 'smugkit[torch]'") from e
    if example is None:
        raise InputError("a PyTorch model needs an example input to be exported to ONNX; pass x")
    x = torch.as_tensor(np.asarray(example, dtype=np.float32))
    buf = io.BytesIO()
    module = module.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (x,),
                buf,
                dynamo=False,
                opset_version=opset,
                input_names=["input"],
                output_names=["output"],
            )
    except Exception as e:  # the exporter raises many types: name the module and the cause
        raise ModelError(
            f"cannot export {type(module).__name__} to ONNX on an input of shape {list(x.shape)}: {e}"
        ) from e
    return buf.getvalue()
