"""The cluster's pacing budget: one :class:`~mtpipe.engine.pacing.Pacer` on a Ray actor.

Every request of every worker first takes a permit from the one :class:`PacingBudget` actor, so
the account's RPM and TPM hold across the cluster whatever the number of workers; the pool's
callbacks after a reply or an error (a 429 seen by any worker) are forwarded to it, so they slow
every worker down.
"""

from __future__ import annotations

import inspect
import time
from collections import OrderedDict
from typing import Any

import ray

from mtpipe.engine.pacing import HELD_RESERVATIONS, Pacer, Reservation

#: Name of the cluster's budget actor when none is passed in.
DEFAULT_BUDGET_NAME = "mtpipe-pacing-budget"


class PacingBudget:
    """The state behind :func:`pacing_budget`: one Pacer for every worker of the cluster."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self._pacer = Pacer(rpm=rpm, tpm=tpm)
        self.granted = 0
        self.throttled = 0
        #: the reservations not reconciled yet, by ticket (bounded as the Pacer's own)
        self._held: OrderedDict[int, Reservation] = OrderedDict()

    async def reserve(self, tokens: int) -> tuple[int, float]:
        """(the reservation's ticket, the grant time, epoch seconds) once a request of
        ``tokens`` may be sent; the ticket is what a worker's reservation carries."""
        self._held[self.granted] = await self._pacer.acquire(tokens)
        if len(self._held) > HELD_RESERVATIONS:
            self._held.popitem(last=False)
        self.granted += 1
        return self.granted - 1, time.time()

    def signal(self, name: str, *args: Any) -> None:
        """Apply a worker's pool callback (``reconcile``, ``on_throttled``...) to the shared
        Pacer; a worker's copy of a reservation stands for the actor's own, by its ticket (one
        the actor no longer holds gives nothing back)."""
        if name not in _CALLBACKS:
            raise ValueError(f"not a Pacer callback: {name!r}")
        if name == "on_throttled":
            self.throttled += 1
        getattr(self._pacer, name)(*(self._own(arg) for arg in args))

    def _own(self, arg: Any) -> Any:
        if not isinstance(arg, Reservation):
            return arg
        held = self._held.get(arg.ticket) if arg.ticket is not None else None
        return held if held is not None else Reservation(arg.tokens, token_room=0.0, request_room=0.0)

    def stats(self) -> dict[str, float]:
        """Permits granted, 429s reported, and the current rate factor."""
        return {"granted": self.granted, "throttled": self.throttled, "factor": self._pacer.factor}


def pacing_budget(
    rpm: float | None = 60.0, tpm: float | None = 100_000.0, name: str = DEFAULT_BUDGET_NAME
) -> Any:
    """The cluster's budget actor named ``name``: created with these limits, or the existing one.

    Call it on the driver after ``ray.init()`` and pass the handle as ``budget``. The actor
    takes no CPU, so it never competes with the workers for slots.
    """
    actor = ray.remote(num_cpus=0)(PacingBudget)
    return actor.options(name=name, get_if_exists=True).remote(rpm, tpm)


class SharedPacer(Pacer):
    """A Pacer whose schedule lives in a :class:`PacingBudget` actor (the pool's view of it).

    ``rpm``/``tpm`` are the account's limits the actor paces by: the pool sizes its packs,
    their warm-up and the end of its run by them as on one machine (without them it took the
    pacer for an offline engine's, and packs kept a fixed size); the schedule itself is the
    actor's."""

    def __init__(self, budget: Any, rpm: float | None = None, tpm: float | None = None) -> None:
        super().__init__(rpm=rpm, tpm=tpm)
        self.budget = budget

    async def acquire(self, tokens: int) -> Reservation:
        """Wait for the cluster-wide permit; the reservation names the actor's own by ticket."""
        ticket, _ = await self.budget.reserve.remote(tokens)
        return Reservation(tokens, ticket=ticket)


#: The Pacer's public synchronous methods (the pool's callbacks after a reply or an error):
#: each is forwarded to the budget actor, so a callback added to the Pacer is shared as well.
_CALLBACKS = frozenset(
    name
    for name, value in vars(Pacer).items()
    if not name.startswith("_")
    and inspect.isfunction(value)
    and not inspect.iscoroutinefunction(value)
)


def _forwarder(name: str) -> Any:
    def forward(self: SharedPacer, *args: Any) -> None:
        self.budget.signal.remote(name, *args)  # fire and forget

    forward.__name__ = name
    forward.__doc__ = f"Forward ``{name}`` to the cluster's budget."
    return forward


for _name in _CALLBACKS:
    setattr(SharedPacer, _name, _forwarder(_name))

