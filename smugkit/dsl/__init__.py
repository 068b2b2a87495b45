"""Solver-independent constraint language: variables, vectorised affine expressions, constraints, ReLU
terms, objectives, problems, exact evaluation and SMT-LIB printing. No solver is imported here."""

from smugkit.dsl.constraints import Constraint
from smugkit.dsl.domains import Domain
from smugkit.dsl.evaluate import Evaluation
from smugkit.dsl.expr import Affine, as_expr, dsum, expand
from smugkit.dsl.problem import Compiled, Objective, Problem
from smugkit.dsl.relu import ReluDef, relu
from smugkit.dsl.smtlib import to_smtlib
from smugkit.dsl.solution import STATUSES, Solution
from smugkit.dsl.variables import Var

__all__ = [
    "STATUSES",
    "Affine",
    "Compiled",
    "Constraint",
    "Domain",
    "Evaluation",
    "Objective",
    "Problem",
    "ReluDef",
    "Solution",
    "Var",
    "as_expr",
    "dsum",
    "expand",
    "relu",
    "to_smtlib",
]
