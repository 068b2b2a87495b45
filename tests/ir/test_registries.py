"""The op registries agree: every IR op has a gradient-graph emitter, every affine op a linearize rule, and
every op the first-layer finder names is a registered op."""

from __future__ import annotations

import pytest

from smugkit.frontends.onnx.converters import CONVERTERS
from smugkit.ir.base import OPS
from smugkit.ir.linearize import RULES
from smugkit.ir.network import ACTIVATIONS, WEIGHTED
from smugkit.runtime.vjp_graph import EMITTERS

# ops that are affine only for some instances (a constant operand), decided per node
AFFINE_PER_NODE = {"Add", "Sub", "Mul", "Div"}


def test_registries_are_populated():
    assert len(OPS) >= 20 and EMITTERS and RULES and CONVERTERS


@pytest.mark.parametrize("op_type", sorted(OPS))
def test_every_op_has_a_vjp_emitter(op_type):
    assert op_type in EMITTERS, f"IR op {op_type} has no emitter in smugkit/runtime/vjp_graph.py"


@pytest.mark.parametrize("op_type", sorted(OPS))
def test_every_affine_op_has_a_linearize_rule(op_type):
    cls = OPS[op_type]
    if isinstance(cls.__dict__.get("affine"), property):
        assert op_type in AFFINE_PER_NODE, f"{op_type} decides affinity per node: list it and give it a rule"
    if cls.affine is True or op_type in AFFINE_PER_NODE:
        assert op_type in RULES, f"IR op {op_type} is marked affine but smugkit/ir/linearize.py has no rule"


@pytest.mark.parametrize("op_type", sorted(RULES) + sorted(EMITTERS))
def test_rules_and_emitters_name_registered_ops(op_type):
    assert op_type in OPS, f"{op_type} has a rule or emitter but is not an IR op"


@pytest.mark.parametrize("op_type", ACTIVATIONS + WEIGHTED)
def test_first_layer_ops_are_registered(op_type):
    assert op_type in OPS
