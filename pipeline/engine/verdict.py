"""What a reply to a batch proves, segment by segment: kept, resent with others, sent alone
once more, or failed.

:func:`read_reply` applies, in order, the framing's alignment proof
(:mod:`mtpipe.engine.framing`), the reply checks (:mod:`mtpipe.engine.replies`: wrapping,
empty, echo, commentary, length) and the placeholder checks (:mod:`mtpipe.text.protect`). It only
decides: the pool records, resends and fails accordingly. A unit's ``rejections`` counts the
translations of it the checks refused; the second refusal is final.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mtpipe.engine.framing import checkpoint_count, unframe
from mtpipe.engine.replies import Rejection, is_echo, judge, unwrap
from mtpipe.engine.units import Unit
from mtpipe.text.protect import verify

__all__ = ["Verdict", "read_reply"]

#: What a failed segment's report says for each reply check it failed twice.
_REASONS = {
    Rejection.EMPTY: "the engine returned an empty translation",
    Rejection.ECHO: "the engine returned the source text untranslated",
    Rejection.COMMENTARY: "the engine's reply held more than the translation (commentary)",
    Rejection.LENGTH: "the engine's reply is out of all proportion to the source",
}


@dataclass
class Verdict:
    """The fate of each segment of a batch, and what the reply showed."""

    #: (unit, translation) proven and checked: to cache.
    good: list[tuple[Unit, str]] = field(default_factory=list)
    #: refused by a check for the first time: sent alone once more.
    retry_alone: list[Unit] = field(default_factory=list)
    #: place not proven (a broken block), or the whole reply echoed: sent again with others.
    resend: list[Unit] = field(default_factory=list)
    #: (unit, why) refused a second time: failed.
    failed: list[tuple[Unit, str]] = field(default_factory=list)
    #: translations the checks refused, by reason (the ledger's ``rejected``).
    rejected: Counter[str] = field(default_factory=Counter)
    #: the reply gave the source back as a whole.
    echoed: bool = False
    #: blocks of the framing, and how many of them were broken.
    blocks: int = 1
    broken: int = 0

    @property
    def ledger_error(self) -> str | None:
        """The request line's ``error`` for a reply that came back: echo, misaligned or none."""
        if self.echoed:
            return Rejection.ECHO
        return "misaligned" if self.resend else None

    @property
    def gave_source_back(self) -> bool:
        """The reply kept nothing and gave the source back (packed, or a single text)."""
        return self.echoed or (not self.good and self.rejected[Rejection.ECHO] > 0)


def read_reply(batch: list[Unit], every: int, text: str) -> Verdict:
    """The verdict on ``text``, the reply to ``batch`` framed with a checkpoint every ``every``
    lines (updates each refused unit's ``rejections``)."""
    parts, broken = unframe(unwrap(text), len(batch), every)
    first = batch[0]
    same_language = first.source.name == first.target.name
    verdict = Verdict(blocks=max(1, checkpoint_count(len(batch), every)), broken=broken)
    verdict.echoed = not same_language and is_echo([u.text for u in batch], parts)
    if verdict.echoed:
        verdict.resend = list(batch)
        verdict.rejected[Rejection.ECHO] = len(batch)
        return verdict
    for unit, translated in zip(batch, parts, strict=True):
        if translated is None:
            verdict.resend.append(unit)
            continue
        why = judge(unit.text, translated, alone=len(batch) == 1, same_language=same_language)
        if why is not None:
            verdict.rejected[why] += 1
            _refuse(verdict, unit, _REASONS.get(why, why))
            continue
        hard = verify(unit.text, translated, unit.checks - unit.soft_checks)
        soft = verify(unit.text, translated, unit.soft_checks)
        if not hard and not soft:
            verdict.good.append((unit, translated))
            continue
        verdict.rejected["placeholders"] += 1
        if not hard and unit.rejections >= 1:
            verdict.good.append((unit, translated))  # soft checks only: the writer degrades
            unit.rejections += 1
            continue
        _refuse(verdict, unit, "; ".join(hard or soft))
    return verdict


def _refuse(verdict: Verdict, unit: Unit, why: str) -> None:
    """A translation refused: sent alone once more, then failed."""
    unit.rejections += 1
    if unit.rejections < 2:
        verdict.retry_alone.append(unit)
    else:
        verdict.failed.append((unit, why))
