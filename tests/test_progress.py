"""The Reporter: a cancel stops any loop that reports progress, and a stopped task is never
reported as done."""

from __future__ import annotations

import pytest

from emocompress.progress import Cancelled, Reporter
from emocompress.run.runner import stopped_status


def test_a_cancelled_task_stops_at_its_next_step_and_is_not_reported_done():
    reporter = Reporter("quiet")
    events: list[tuple] = []
    reporter.subscribe(events.append)
    steps = 0
    with pytest.raises(Cancelled), reporter.task("training", total=10) as task:
        for _ in range(10):
            task.advance()
            steps += 1
            if steps == 3:
                reporter.cancel()
    assert steps == 3  # the advance after the cancel raised
    kinds = [kind for kind, *_ in events]
    assert kinds[0] == "start" and kinds[-1] == "stopped" and "end" not in kinds


def test_a_finished_task_ends_and_a_failed_one_stops():
    reporter = Reporter("quiet")
    events: list[tuple] = []
    reporter.subscribe(events.append)
    with reporter.task("ok", total=1) as task:
        task.advance()
    with pytest.raises(ValueError), reporter.task("broken"):
        raise ValueError("boom")
    assert [(kind, text) for kind, text, *_ in events if kind != "progress"] == [
        ("start", "ok"),
        ("end", "ok"),
        ("start", "broken"),
        ("stopped", "broken"),
    ]


def test_run_status_of_a_stopped_run():
    assert stopped_status(Cancelled()) == "cancelled"
    assert stopped_status(KeyboardInterrupt()) == "interrupted"
    assert stopped_status(SystemExit(1)) == "interrupted"
    assert stopped_status(RuntimeError("x")) == "failed"
