"""Small deterministic PyTorch / scikit-learn models exported to ONNX, for frontend and gradient tests.

Each torch factory writes ``<name>_<exporter>.onnx`` into ``tmp_dir`` and returns ``(path, module)`` with the
module in eval mode; ``sklearn_mlp`` returns ``(path, path_zipmap, classifier)`` (or ``(path, classifier)``
for one ``zipmap`` choice). torch, onnxscript, scikit-learn and skl2onnx are imported inside the functions,
so callers guard them with ``pytest.importorskip``. Every torch export uses input name "input" and output name "output".
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

SEED = 0

#: Input shapes (batch 1) of the torch factories, and the input dtype of each.
MLP_INPUT = (1, 20)
CNN_INPUT = (1, 3, 12, 10)
TEXT_INPUT = (1, 6)
TEXT_VOCAB = 50


def _export(model: Any, example: Any, path: Path, dynamo: bool, dynamic_batch: bool) -> Path:
    """Export with the TorchScript (opset 17) or dynamo (opset 18) exporter; batch axis dynamic if asked."""
    import torch

    kwargs: dict[str, Any] = {"input_names": ["input"], "output_names": ["output"], "verbose": False}
    if dynamic_batch:
        if dynamo:
            kwargs["dynamic_shapes"] = ({0: torch.export.Dim("N", min=1, max=1024)},)
        else:
            kwargs["dynamic_axes"] = {"input": {0: "N"}, "output": {0: "N"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (example,), str(path), dynamo=dynamo, opset_version=18 if dynamo else 17, **kwargs
        )
    return path


def _file(tmp_dir: str | Path, name: str, dynamo: bool) -> Path:
    """``tmp_dir/<name>_<dynamo|script>.onnx``, creating the directory."""
    d = Path(tmp_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}_{'dynamo' if dynamo else 'script'}.onnx"


def torch_forward(module: Any, x: np.ndarray) -> np.ndarray:
    """Run a torch module on a numpy array without gradients and return a numpy array."""
    import torch

    with torch.no_grad():
        return module(torch.from_numpy(np.asarray(x))).detach().numpy()


def torch_mlp(tmp_dir: str | Path, dynamo: bool, dynamic_batch: bool | None = None) -> tuple[Path, Any]:
    """Flatten → Linear(20,16) → ReLU → Linear(16,8) → Tanh → Linear(8,4); input (N,20), N dynamic for TorchScript."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4)
    ).eval()
    dyn = (not dynamo) if dynamic_batch is None else dynamic_batch
    path = _export(model, torch.zeros(MLP_INPUT), _file(tmp_dir, "mlp", dynamo), dynamo, dyn)
    return path, model


def _small_cnn() -> Any:
    """The module behind ``torch_cnn``: normalisation, grouped / strided / dilated / depthwise convs, BN, pools."""
    import torch
    from torch import nn

    class SmallCNN(nn.Module):
        """(x - mean) / std, then conv blocks with BatchNorm, ReLU / LeakyReLU, max / avg pooling and a head."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
            self.features = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1),  # 12x10
                nn.BatchNorm2d(8),
                nn.ReLU(),
                nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2),  # 6x5, grouped
                nn.LeakyReLU(0.1),
                nn.BatchNorm2d(8),  # not after a Conv: kept
                nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8),  # 6x5, depthwise dilated
                nn.ReLU(),
                nn.MaxPool2d(2),  # 3x2
                nn.Conv2d(8, 12, 1, bias=False),  # pointwise
                nn.ReLU(),
                nn.AvgPool2d(2, stride=1),  # 2x1
            )
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """Normalise per channel, extract features, pool globally, classify into 5 logits."""
            x = (x - self.mean) / self.std
            return self.head(self.pool(self.features(x)))

    torch.manual_seed(SEED)
    model = SmallCNN()
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.25)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.2)
    return model.eval()


def torch_cnn(tmp_dir: str | Path, dynamo: bool, dynamic_batch: bool = False) -> tuple[Path, Any]:
    """A small CNN on (1,3,12,10) exercising Sub/Div, Conv variants, BatchNorm, ReLU/LeakyReLU and pooling."""
    import torch

    model = _small_cnn()
    path = _export(model, torch.zeros(CNN_INPUT), _file(tmp_dir, "cnn", dynamo), dynamo, dynamic_batch)
    return path, model


def torch_embedding_text(tmp_dir: str | Path, dynamo: bool, dynamic_batch: bool = False) -> tuple[Path, Any]:
    """Embedding(50,8) over (1,6) int64 token ids → Flatten → Linear(48,16) → ReLU → Linear(16,2)."""
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    model = nn.Sequential(
        nn.Embedding(TEXT_VOCAB, 8), nn.Flatten(), nn.Linear(6 * 8, 16), nn.ReLU(), nn.Linear(16, 2)
    ).eval()
    example = torch.zeros(TEXT_INPUT, dtype=torch.int64)
    path = _export(model, example, _file(tmp_dir, "text", dynamo), dynamo, dynamic_batch)
    return path, model


def sklearn_mlp(tmp_dir: str | Path, zipmap: bool | None = None) -> tuple[Any, ...]:
    """MLPClassifier(16) on load_digits (pixels/16) as ONNX: (path, path_zipmap, clf), or (path, clf) for one.

    ``path`` has no ZipMap (outputs "label", "probabilities"), ``path_zipmap`` keeps it ("output_label",
    "output_probability"); with ``zipmap=True`` / ``False`` only that file's path is returned with the classifier.
    """
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    d = Path(tmp_dir)
    d.mkdir(parents=True, exist_ok=True)
    path, path_zipmap = d / "sklearn_mlp.onnx", d / "sklearn_mlp_zipmap.onnx"
    opsets = {"": 17, "ai.onnx.ml": 3}
    path.write_bytes(
        to_onnx(clf, x[:1], options={id(clf): {"zipmap": False}}, target_opset=opsets).SerializeToString()
    )
    path_zipmap.write_bytes(to_onnx(clf, x[:1], target_opset=opsets).SerializeToString())
    if zipmap is None:
        return path, path_zipmap, clf
    return (path_zipmap if zipmap else path), clf
