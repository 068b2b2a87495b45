"""The live solve line: every solve hands its context to the watcher; HiGHS reports incumbent and bound."""

from __future__ import annotations

import io
import re

import pytest

from smugkit.attribution.smug import explain
from smugkit.backends import base
from smugkit.run.live import LiveLine, describe
from tests.run.batch_helpers import FAST, inputs, tiny_model


def test_watcher_sees_each_solve_and_the_line_reads_it(tmp_path, monkeypatch):
    pytest.importorskip("highspy")
    seen = []
    monkeypatch.setattr(base, "watcher", seen.append)
    e = explain(tiny_model(tmp_path), inputs(1)[0], backend="highs", **FAST)
    assert len(seen) == 1 and seen[0].live["done"]
    ctx = seen[0]
    if "incumbent" in ctx.live:  # HiGHS reported while it ran: its last incumbent is the mask found
        assert ctx.live["incumbent"] == pytest.approx(e.mask_size)
    line = describe(ctx)
    assert re.fullmatch(r"solving \(native\), incumbent \S+, bound \S+, \d+\.\ds of (60|59\.\d)s", line), line
    out = io.StringIO()
    with LiveLine(stream=out) as live:
        assert base.watcher == live._watch
        live.draw(ctx)
    assert base.watcher == seen.append  # restored
    assert out.getvalue().startswith("\r\x1b[2Ksolving") and out.getvalue().endswith("\r\x1b[2K")
