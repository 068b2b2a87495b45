"""The demo says, before it solves, which optional parts this install lacks (the fast solver, the panel)."""

from __future__ import annotations

import importlib.util

import pytest

from smugkit.cli import main


class Solving(BaseException):  # not an Exception: main() reports those itself
    """Raised where the demo starts its explanation: what was printed by then came before solving."""


@pytest.fixture
def lacking(monkeypatch):
    """Pretend the named modules are not installed; stop the demo when it starts explaining."""
    real = importlib.util.find_spec
    gone: set[str] = set()
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in gone else real(name, *a)
    )

    def stop(*args, **kwargs):
        raise Solving

    monkeypatch.setattr("smugkit.attribution.smug.explain", stop)
    monkeypatch.setattr("smugkit.text.cli.run_text_explain", stop, raising=False)
    return gone


def _demo_notes(capsys, *argv: str) -> str:
    with pytest.raises(Solving):
        main(["demo", *argv])
    return capsys.readouterr().err


def test_demo_names_a_missing_solver_and_panel_before_solving(lacking, capsys, tmp_path):
    lacking.update({"highspy", "matplotlib"})
    err = _demo_notes(capsys, "--out", str(tmp_path))
    assert "highspy (HiGHS, the fast default solver) is not installed, so z3 solves" in err
    assert "pip install highspy" in err
    assert "panel.png is not (pip install 'smugkit[viz]')" in err
    err = _demo_notes(capsys, "--out", str(tmp_path), "--backend", "z3", "--no-pictures")
    assert "note:" not in err  # a chosen backend and no pictures: nothing is missing
    err = _demo_notes(capsys, "--task", "text", "--out", str(tmp_path))
    assert "highspy" in err and "panel" not in err  # the text demo writes no panel


def test_a_complete_install_gets_no_notes(lacking, capsys, tmp_path):
    assert "note:" not in _demo_notes(capsys, "--out", str(tmp_path))
