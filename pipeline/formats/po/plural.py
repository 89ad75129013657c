"""Plural forms of gettext catalogs: the header rule and which translation fills which msgstr[i].

A plural entry has two source texts (msgid, the singular, and msgid_plural) and one msgstr[i] per
form of the target language's rule (``Plural-Forms: nplurals=N; plural=EXPR;``). mtpipe
translates both source texts and fills the forms like this:

- the form that ``n = 1`` selects (form 0 for de, ru, pl; form 1 for ar, whose form 0 is
  "zero"; CLDR calls it "one") gets the singular's translation, provided ``msgfmt -c`` accepts
  it there: its placeholders are the plural's (same directives in the same order), or it has
  none and the form is used for ``n = 1`` only (msgfmt then checks it leniently; ru's form 0
  also serves 21, 31... and must keep ``%d``);
- every other form gets the plural's translation, so a count placeholder (``%d``,
  ``%(count)d``, ``{count}``) survives in every form;
- with one form (ja, zh, ko...), the plural's translation.

The rule is evaluated with the standard library's ``gettext.c2py`` (a C-expression evaluator
that never calls ``eval`` on arbitrary code).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from mtpipe.text.protect import placeholders

#: n values sampled to learn which forms a rule uses for which numbers.
_SAMPLE = range(1001)
_PLURAL_FORMS = re.compile(r"^\s*nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*(.+?)\s*;?\s*$", re.DOTALL)


@dataclass(frozen=True)
class PluralRule:
    """A gettext plural rule: ``nplurals`` forms, ``expression`` maps n to a form index."""

    nplurals: int
    expression: str
    _function: Callable[[int], int] = field(compare=False, repr=False)

    def form(self, n: int) -> int:
        """The msgstr index used for the number ``n``."""
        return int(self._function(n))

    def header_value(self) -> str:
        """The value of the ``Plural-Forms`` header field."""
        return f"nplurals={self.nplurals}; plural={self.expression};"

    @cached_property
    def singular_form(self) -> tuple[int, bool] | None:
        """(form that n = 1 selects, whether that form is used for n = 1 only); None if 1 form."""
        if self.nplurals < 2:
            return None
        index = self.form(1)
        only_one = all(self.form(n) != index for n in _SAMPLE if n != 1)
        return index, only_one


def make_rule(nplurals: int, expression: str) -> PluralRule:
    """A :class:`PluralRule`; ValueError when the expression is invalid or leaves the range."""
    if not 1 <= nplurals <= 20:
        raise ValueError(f"nplurals={nplurals} is out of range")
    function = gettext.c2py(expression.strip())
    for n in _SAMPLE:
        if not 0 <= int(function(n)) < nplurals:
            raise ValueError(
                f"plural expression gives {function(n)} for n={n}, nplurals={nplurals}"
            )
    return PluralRule(nplurals, expression.strip(), function)


def parse_plural_forms(value: str | None) -> PluralRule | None:
    """The rule in a ``Plural-Forms`` header value; None when absent, a template placeholder
    (``nplurals=INTEGER; plural=EXPRESSION;``) or invalid."""
    if not value:
        return None
    match = _PLURAL_FORMS.match(value)
    if match is None:
        return None
    try:
        return make_rule(int(match.group(1)), match.group(2))
    except (ValueError, SyntaxError, RecursionError, ZeroDivisionError):
        return None


#: Families msgfmt knows as format directives (its lenient check may drop these from a form).
_DIRECTIVES = frozenset({"printf", "python", "brace", "dollar"})


def uses_singular(rule: PluralRule, singular: str, plural: str) -> int | None:
    """The form index that takes the singular's translation, or None when no form does.

    ``singular``/``plural`` are the source texts (msgid, msgid_plural). Every placeholder
    family counts, whatever the entry's flags: msgfmt's idea of a directive (``{count}`` in
    ``${count}`` for python-brace-format) need not be the flags' families' one.
    """
    found = rule.singular_form
    if found is None:
        return None
    index, only_one = found
    if [s.text for s in placeholders(singular)] == [s.text for s in placeholders(plural)]:
        return index
    if only_one and not placeholders(singular, _DIRECTIVES):
        return index
    return None


def plural_msgstrs(
    rule: PluralRule,
    singular_form: int | None,
    singular_translation: str | None,
    plural_translation: str,
) -> list[str]:
    """The msgstr[0..nplurals-1] values: the plural's translation everywhere, the singular's
    at ``singular_form`` (from :func:`uses_singular`) when given."""
    forms = [plural_translation] * rule.nplurals
    if singular_form is not None and singular_translation is not None:
        forms[singular_form] = singular_translation
    return forms


def fit_forms(forms: Sequence[str], nplurals: int) -> list[str]:
    """``forms`` padded with empty strings or cut to ``nplurals`` (untranslated entries of a
    template get the target's number of forms, as msginit does)."""
    return [*forms[:nplurals], *([""] * (nplurals - len(forms)))]
