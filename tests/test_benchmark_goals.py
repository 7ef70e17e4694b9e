"""The goal lines benchmarks print are read back by ``python -m benchmarks``."""

from __future__ import annotations

import pytest

from benchmarks.goals import Goal, report_goal


def test_a_reported_goal_is_read_back(capsys: pytest.CaptureFixture[str]) -> None:
    assert report_goal("import, share of the floor", 0.25, 0.1, at_least=True, note="n=1000")
    assert not report_goal("start, first frame", 1.7, 1.5)
    lines = capsys.readouterr().out.splitlines()
    goals = [Goal.parse(line) for line in lines]
    assert goals == [
        Goal("import, share of the floor", 0.25, "≥ 0.1", True, "n=1000"),
        Goal("start, first frame", 1.7, "≤ 1.5", False, ""),
    ]


@pytest.mark.parametrize("line", ["", "GOAL\tonly\ttwo", "GOAL\tx\tnot-a-number\t≤ 1\tmet\t", "x"])
def test_other_output_is_not_a_goal(line: str) -> None:
    assert Goal.parse(line) is None
