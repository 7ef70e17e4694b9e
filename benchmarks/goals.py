"""Goals the benchmarks check, each printed as a ratio measured in the same run, in a
form ``python -m benchmarks`` gathers into one summary at the end."""

from __future__ import annotations

from dataclasses import dataclass

MARK = "GOAL\t"


@dataclass(frozen=True)
class Goal:
    """One goal's outcome: ``ratio`` against its baseline, and the bound it must keep."""

    name: str
    ratio: float
    bound: str
    met: bool
    note: str = ""

    def line(self) -> str:
        fields = (self.name, f"{self.ratio:.3g}", self.bound, "met" if self.met else "NOT met")
        return MARK + "\t".join((*fields, self.note))

    @classmethod
    def parse(cls, line: str) -> Goal | None:
        """The goal a benchmark printed on ``line``, or None for any other output."""
        if not line.startswith(MARK):
            return None
        parts = line.rstrip("\n")[len(MARK) :].split("\t")
        if len(parts) != 5:
            return None
        name, ratio, bound, met, note = parts
        try:
            return cls(name, float(ratio), bound, met == "met", note)
        except ValueError:
            return None


def report_goal(
    name: str, ratio: float, limit: float, *, at_least: bool = False, note: str = ""
) -> bool:
    """Print one goal's outcome (``ratio`` ≤ ``limit``, or ≥ with ``at_least``); True if met."""
    met = ratio >= limit if at_least else ratio <= limit
    bound = f"{'≥' if at_least else '≤'} {limit:g}"
    print(Goal(name, ratio, bound, met, note).line(), flush=True)
    return met
