"""`smugkit bench`: SMUG instances on every backend under one budget, with agreement checks and reports."""

from smugkit.bench.runner import run_bench
from smugkit.bench.suites import SUITES, InstanceSpec, load_suite

__all__ = ["SUITES", "InstanceSpec", "load_suite", "run_bench"]
