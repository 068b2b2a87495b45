"""Notebook-friendly results: plot() panels, plot_grid, a short repr and an HTML repr with the picture."""

from __future__ import annotations

import numpy as np
import pytest

import smugkit
from smugkit.attribution.smug import explain
from tests.run.batch_helpers import FAST, inputs, tiny_model

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("panel")
    model = tiny_model(folder)
    return model, [explain(model, x, **FAST) for x in inputs(2)]


def test_explanation_plot_repr_and_saved_panel(explained, tmp_path):
    _, (e, _) = explained
    fig = e.plot()
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels[:3] == ["input", "saliency", "mask (kept)"] and len(fig.axes) == 4  # + the colorbar
    title = fig._suptitle.get_text()
    assert f"label {e.label}" in title and f"p={e.probability:.3f}" in title
    assert f"mask {e.mask_size}/{e.mask_bits.size}" in title and e.status in title
    # the saliency panel shows the saliency values themselves
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), e.saliency)
    text = repr(e)
    assert len(text) < 300 and f"label={e.label}" in text and e.status in text
    assert e._repr_html_().startswith('<div><img src="data:image/png;base64,')
    files = e.save(tmp_path / "e")
    assert files["panel"].stat().st_size > 0


def test_attribution_plot_and_grid(explained, tmp_path):
    model, explanations = explained
    x = inputs(1)[0]
    a = smugkit.attribute(model, x, method="gradient")
    fig = a.plot(image=x.reshape(4, 4, 1))
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), a.values.reshape(4, 4))
    assert "method='gradient'" in repr(a) and len(repr(a)) < 300
    assert "<img" in a._repr_html_()
    grid = smugkit.plot_grid([*explanations, a])
    assert len([ax for ax in grid.axes if ax.get_xlabel() == "saliency"]) == 3
    with pytest.raises(smugkit.InputError, match="no results"):
        smugkit.plot_grid([])
