"""Explanations: gradients, Integrated Gradients and SMUG.

The package itself is callable: ``smugkit.explain(model, x, ...)`` is ``smugkit.explain.smug.explain``.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from smugkit.explain.smug import explain

        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
