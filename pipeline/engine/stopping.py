"""Why a run stops scheduling requests, as a value: callers test its kind, users read its message.

A pool stops for one of three reasons (:class:`Stop`); the first one wins. What was not sent
because of it fails with ``not sent: <message>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["INTERRUPTED", "Stop", "StopReason", "aborted", "budget_reached"]


class Stop(Enum):
    """The kinds of reason a run stops scheduling."""

    #: ``--max-cost`` would be passed (the run raises BudgetExceeded, exit 3).
    BUDGET = "budget"
    #: The first Ctrl-C / SIGTERM (exit 130).
    INTERRUPTED = "interrupted"
    #: A run-fatal error (the run raises it).
    ABORTED = "aborted"


@dataclass(frozen=True)
class StopReason:
    """One reason to stop: its kind, and the message users see (``str()`` gives it)."""

    kind: Stop
    message: str

    def __str__(self) -> str:
        return self.message


#: The first interrupt's reason.
INTERRUPTED = StopReason(Stop.INTERRUPTED, "interrupted")


def budget_reached(limit: float, spent: float) -> StopReason:
    """The next request would take the run's cost past ``limit`` (USD) with ``spent`` spent."""
    return StopReason(Stop.BUDGET, f"budget: --max-cost ${limit:g} reached (spent ${spent:.4f})")


def aborted(error: Exception) -> StopReason:
    """A run-fatal ``error`` stopped the run."""
    return StopReason(Stop.ABORTED, f"aborted: {error}")
