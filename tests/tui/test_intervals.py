"""Intervals in the app: cells with ±, paired deltas marked, support, the forgot screen.

The run directory is synthetic (tests/synthetic_runs.py: real writers, real comparison.json).
"""

from __future__ import annotations

import pytest
from synthetic_runs import NAMES, make_run

from emocompress.artifacts.schema import BootstrapSpec, Delta
from emocompress.measure.comparison import ensure_comparison
from tui.app import create_app
from tui.data import COLUMN_BY_KEY, compare_rows, emotion_deltas, fmt_figure, load_catalog
from tui.intervals import delta_text, forgot_emotion_rows, forgot_pairs

SPEC = BootstrapSpec(resamples=200, seed=5)


@pytest.fixture
def compared_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = make_run(tmp_path / "run", {"weak": 0.0, "close": 0.45})
    return run, ensure_comparison(run, SPEC)


def test_cells_show_intervals_and_paired_deltas(compared_run):
    run, comparison = compared_run
    catalog = load_catalog([run.root])
    teacher, weak = catalog.get("teacher"), catalog.get("weak")
    auc = COLUMN_BY_KEY["macro_auc"]
    section = comparison.variants["weak"].auc_macro
    half = (section.high - section.low) / 2
    assert fmt_figure(auc, weak, None, "value") == f"{section.point:.4f} ±{half:.4f}"
    pair = comparison.pair("weak", "teacher")
    shown = fmt_figure(auc, weak, teacher, "delta")
    assert shown.startswith(f"{pair.figures.macro_auc.point:+.4f} [")
    assert shown.endswith(" *")  # a student with no signal of its own: a significant drop
    # the compare screen's Δ is the same paired figure, the other way round it is negated
    figures = dict(compare_rows(teacher, weak))
    assert figures["macro_auc"][3].text == shown
    swapped = dict(compare_rows(weak, teacher))
    assert swapped["macro_auc"][3].text.startswith(f"{-pair.figures.macro_auc.point:+.4f} [")


def test_per_emotion_deltas_show_support_and_mark_noise(compared_run):
    run, comparison = compared_run
    catalog = load_catalog([run.root])
    rows = emotion_deltas(catalog.get("teacher"), catalog.get("close"))
    pair = comparison.pair("close", "teacher")
    support = {row.label: row.support for row in pair.per_label}
    assert [label for label, _ in rows] == NAMES
    assert all(cells[1].text == str(support[label]) for label, cells in rows)
    assert all(cells[4].text.endswith((" *", " ~")) for _, cells in rows)  # paired ΔF1
    assert all(cells[7].text.endswith((" *", " ~")) for _, cells in rows)  # paired ΔAUC
    forgot = forgot_emotion_rows(forgot_pairs(catalog.get("close"))[0])
    drops = len(pair.significant_f1_drops)
    assert [row[0] for row in forgot[:drops]] == pair.significant_f1_drops


def test_a_run_without_comparison_shows_plain_figures(tmp_path):
    run = make_run(tmp_path / "run", {"weak": 0.0})
    catalog = load_catalog([run.root])
    weak = catalog.get("weak")
    cell = fmt_figure(COLUMN_BY_KEY["macro_auc"], weak, None, "value")
    assert "±" not in cell and cell == f"{weak.row['macro_auc']:.4f}"
    _, cells = emotion_deltas(catalog.get("teacher"), weak)[0]
    assert len(cells) == 8 and not cells[4].text.endswith((" *", " ~"))


@pytest.mark.anyio
async def test_the_forgot_screen_lists_emotions_and_examples(compared_run):
    run, comparison = compared_run
    app = create_app([str(run.root)], live=False)
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.catalog.variants and not app.loading_catalog:
                break
        table = app.screen.query_one("#variants")
        row = [str(table.get_row_at(i)[0]).removesuffix(" (ref)") for i in range(table.row_count)]
        table.move_cursor(row=row.index("weak"))
        await pilot.press("f")
        await pilot.pause()
        assert type(app.screen).__name__ == "ForgotScreen"
        emotions = app.screen.query_one("#forgot-emotions-0")
        examples = app.screen.query_one("#forgot-examples-0")
        pair = comparison.pair("weak", "teacher")
        assert emotions.row_count == len(NAMES)
        assert examples.row_count == min(20, len(pair.examples))
        assert str(emotions.get_row_at(0)[0]) == pair.per_label[0].label
        await pilot.press("escape")
        table.move_cursor(row=row.index("teacher"))
        await pilot.press("f")
        await pilot.pause()
        assert app.screen.query("#forgot-empty")  # the reference is compared with nothing


def test_a_swapped_zero_delta_is_not_shown_negative():
    """The compare screen shows a pair the other way round by negating it: an exact zero
    (two variants with the same F1) stays +0.000, never -0.000 (which reads as a drop)."""
    zero = Delta(point=0.0, low=0.0, high=0.0, significant=False)
    assert delta_text(zero, -1, ".3f") == delta_text(zero, 1, ".3f") == "+0.000 [+0.000, +0.000] ~"
    drop = Delta(point=0.01, low=0.0, high=0.02, significant=False)
    assert delta_text(drop, -1, ".3f") == "-0.010 [-0.020, +0.000] ~"
