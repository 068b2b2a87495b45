"""`smugkit evaluate`: attribution methods x metrics over a data set, resumable, as a table and figures."""

from smugkit.evaluation.data import Dataset, load_data
from smugkit.evaluation.report import evaluate_methods
from smugkit.evaluation.runner import (
    PRESETS,
    MethodSpec,
    method_specs,
    run_evaluation,
    summarise,
    write_table,
)

__all__ = [
    "PRESETS",
    "Dataset",
    "MethodSpec",
    "evaluate_methods",
    "load_data",
    "method_specs",
    "run_evaluation",
    "summarise",
    "write_table",
]
