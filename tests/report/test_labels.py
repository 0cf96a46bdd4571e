"""Figure labels: coincident points share one label, no text of any figure overlaps another."""

from __future__ import annotations

import shutil

import matplotlib
import pytest

matplotlib.use("Agg", force=True)
import matplotlib.pyplot as plt  # noqa: E402

from emocompress.report.data import gather  # noqa: E402
from emocompress.report.figures import _STYLE, SPECS  # noqa: E402
from emocompress.report.labels import (  # noqa: E402
    PointLabel,
    overlapping_texts,
    place_point_labels,
)


def test_overlapping_texts_finds_a_collision_and_passes_a_clean_figure():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.text(0.5, 0.5, "student-int8", transform=ax.transAxes)
    ax.text(0.52, 0.5, "student-onnx", transform=ax.transAxes)  # on top of the first
    assert ("student-int8", "student-onnx") in overlapping_texts(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2], [1, 2], label="line")
    ax.legend(loc="upper left")
    ax.text(0.05, 0.95, "under the legend", transform=ax.transAxes, va="top")
    assert any(a.startswith("legend") for a, _ in overlapping_texts(fig))
    plt.close(fig)


def test_coincident_and_close_points_get_labels_that_do_not_overlap():
    fig, ax = plt.subplots(figsize=(4, 3))
    points = [
        PointLabel(69.0, 0.9904, "student-3l"),
        PointLabel(69.1, 0.9904, "student-onnx"),  # the same spot on screen
        PointLabel(70.0, 0.9903, "pruned"),  # close by
        PointLabel(90.3, 0.9938, "teacher"),  # at the edge of the data
        PointLabel(17.4, 0.9901, "student-int8"),
    ]
    ax.plot([p.x for p in points], [p.y for p in points], "o")
    ax.margins(0.15, 0.2)
    notes = place_point_labels(ax, points)
    assert sorted(n.get_text() for n in notes) == sorted(
        ["student-3l, student-onnx", "pruned", "teacher", "student-int8"]
    )
    assert overlapping_texts(fig) == []
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    for note in notes:  # none cut off by the axes
        box = note.get_window_extent(renderer)
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1, note.get_text()
    plt.close(fig)


@pytest.fixture(scope="module")
def tiny_data(tiny_run, tmp_path_factory):
    run = tmp_path_factory.mktemp("layout") / "tiny"
    shutil.copytree(tiny_run, run)
    return gather(run, verify=False)


@pytest.mark.parametrize("spec", SPECS, ids=[spec.stem for spec in SPECS])
def test_no_figure_has_overlapping_texts(tiny_data, spec):
    with plt.rc_context(_STYLE):
        fig = spec.make(tiny_data)
    assert fig is not None
    assert overlapping_texts(fig) == []
    plt.close(fig)
