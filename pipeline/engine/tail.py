"""The end of a run: the last packs planned so that their replies land together and soon.

A run that keeps sending full packs to the end waits on the last one's long reply; one that
shrinks them too far pays a request slot for each. :func:`tail_pack` plans the staircase in
between (see its docstring); :class:`mtpipe.engine.packing.AdaptivePacks` asks it for every
pack once the end is near.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: A run's last packs shrink only when a full pack's reply takes at least this long.
TAIL_WORTH_S = 0.5


@dataclass(frozen=True, slots=True)
class Pace:
    """What the end of a run is planned with: a reply of ``b`` billed tokens takes ``fixed +
    per_billed x b`` seconds; the pacing sends ``billed_per_second`` tokens and at most
    ``requests_per_second`` requests (None: no request limit)."""

    fixed: float
    per_billed: float
    billed_per_second: float
    requests_per_second: float | None

    def gap(self, billed: float) -> float:
        """Seconds after sending a pack of ``billed`` tokens before the next may go."""
        least = 1.0 / self.requests_per_second if self.requests_per_second else 0.0
        return max(least, billed / self.billed_per_second)

    def reply(self, billed: float) -> float:
        """Seconds a reply to a pack of ``billed`` tokens takes."""
        return self.fixed + self.per_billed * billed


#: Sizes of the last pack a tail plan tries, from the smallest, each this much bigger.
_TAIL_STEP = 1.15
_LEAST_LAST_PACK = 64.0


def tail_pack(remaining: float, full: float, pace: Pace) -> float | None:
    """The pack (billed tokens) to send next so the run's last reply lands soonest; None while
    a full pack (``full`` billed tokens) is as good, far from the end.

    Counted back from the last pack ``s0``, each pack may be as big as still lands with it:
    pack ``i`` goes ``D_i`` seconds before the last, so ``reply(s_i) <= D_i + reply(s0)``,
    where ``D_i`` sums the gaps the pacing leaves after each pack (the token rate, or the
    request rate for small packs). That staircase holds ``remaining`` tokens in some number of
    packs; the run ends ``D + reply(s0)`` after the first. A small ``s0`` ends with a quick
    reply but needs more packs, each a request slot; the plan tries last packs from
    :data:`_LEAST_LAST_PACK` billed tokens up to ``full`` and keeps the one that ends soonest.
    The pack to make now is the plan's first, or the one after it when what the plan leaves
    for the first is less (never a sliver ahead of bigger packs); the plan is made again for
    each pack, as the end comes closer.
    """
    best: tuple[float, float] | None = None  # (end, first pack)
    last = min(_LEAST_LAST_PACK, full)
    while True:
        end, first = _staircase(last, remaining, full, pace)
        if best is None or end < best[0] - 1e-9:
            best = (end, first)
        if last >= full:
            break
        last = min(full, last * _TAIL_STEP)
    return None if best[1] >= full else best[1]


def _staircase(last: float, remaining: float, full: float, pace: Pace) -> tuple[float, float]:
    """(seconds from the first pack's send to the last reply, the first pack) of the plan whose
    last pack is ``last`` billed tokens; packs grow back from it as far as they still land with
    it, up to ``full``, then full packs hold the rest."""
    last = min(last, remaining)
    packed, ahead, size = last, 0.0, last  # ahead: seconds from a pack's send to the last send
    allowed = below = last  # the biggest the pack being planned may be; the pack after it
    while packed < remaining and size < full:
        below = size
        # Pack i lands with the last: reply(s) <= ahead + gap(s) + reply(last).
        allowed = last + (ahead + pace.gap(0.0)) / pace.per_billed if pace.per_billed else full
        if allowed / pace.billed_per_second > pace.gap(0.0):  # the token rate spaces it
            shrink = 1.0 - 1.0 / (pace.billed_per_second * pace.per_billed) if pace.per_billed else 0.0
            allowed = full if shrink <= 0 else (last + ahead / pace.per_billed) / shrink
        allowed = min(full, allowed)
        size = min(allowed, remaining - packed)
        ahead += pace.gap(size)
        packed += size
    if packed < remaining:  # full packs first, then the staircase
        fulls = math.ceil((remaining - packed) / full)
        return ahead + fulls * pace.gap(full) + pace.reply(last), full
    # What is left for the first pack may be a sliver: the pack made now is never smaller than
    # the one after it (the plan is made again for the next one).
    return ahead + pace.reply(last), min(remaining, max(size, below))
