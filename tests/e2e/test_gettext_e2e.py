"""Every catalog of ../shared/corpus/po through the whole pipeline, emulator and pseudo engine.

One run per (engine, mode) and one job for all catalogs: every ``.po`` into its own language
(the header's Language), ``sphinx.pot`` into de, ja, ru, pl and ar. Mode ``default`` sends what
the defaults send (a template's entries, a catalog's untranslated ones) and is run a second
time, which must send nothing and write the same catalogs; mode ``retranslate``
(``--retranslate --fuzzy``) sends every live entry of the catalogs the default leaves alone
(gnome-clocks: fully translated, with msgctxt pairs and plural entries).

Every output: ``msgfmt -c`` clean, same entries in the same order, obsolete entries unchanged
line for line, every sent entry's msgstr equal to the engine's translation of its source and
marked fuzzy, plural entries with the header's number of forms filled by the rule, header
fields set, and translate-toolkit's ``pofilter`` structural checks adding no finding to those
the input already had.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import polib
import pytest

from mtpipe import __version__
from mtpipe.errors import ConfigError
from mtpipe.run.runner import translate
from mtpipe.testing import Emulator
from mtpipe.testing.limits import RequestRecord
from mtpipe.text.languages import Language, resolve
from mtpipe.text.protect import needs_translation, placeholders
from tests.conftest import FAST_RETRIES
from tests.e2e.gettext_support import (
    CATALOG_FILES,
    PO_CORPUS,
    STRUCTURAL,
    TEMPLATE_FILES,
    TEMPLATE_TARGETS,
    catalog_language,
    directives,
    exempt,
    outputs,
    placeholder_texts,
    plural_rule,
    pofilter_findings,
    read_layout,
    read_po,
    selected,
    toolkit_nplurals,
)
from tests.e2e.support import ENGINES, Round, engine_translation, make_job, packed_parts, run_round

MSGFMT = shutil.which("msgfmt")
MODES = ("default", "retranslate")
#: The families msgfmt treats as format directives (the plural rule's "no placeholder").
DIRECTIVE_FAMILIES = ("printf", "python", "brace", "dollar")

pytestmark = pytest.mark.skipif(not CATALOG_FILES, reason="../shared/corpus/po is absent")


@dataclass
class CatalogRound:
    """A pipeline round over the corpus in one mode."""

    mode: str
    run: Round

    @property
    def engine(self) -> str:
        return self.run.engine

    def translation(self, text: str, target: Language) -> str:
        return engine_translation(text, self.run.engine, target)

    def output(self, name: str, code: str) -> Path:
        return self.run.out / code / (Path(name).stem + ".po" if name.endswith(".pot") else name)

    def selected(self, entry: polib.POEntry, template: bool) -> bool:
        return selected(entry, template, self.mode)


Case = tuple[CatalogRound, Path, Path, Language]


def round_files(mode: str) -> list[Path]:
    """Default: every catalog. Retranslate: the catalogs of which the default sends nothing."""
    if mode == "default":
        return CATALOG_FILES + TEMPLATE_FILES
    return [p for p in CATALOG_FILES if not any(selected(e, False, "default") for e in read_po(p))]


class Rounds:
    """The rounds of the module, each run once, when a test first needs it."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.done: dict[tuple[str, str], CatalogRound] = {}

    def get(self, engine: str, mode: str) -> CatalogRound:
        if (engine, mode) not in self.done:
            tmp = self.factory.mktemp(f"{engine}-{mode}")
            options = {"retranslate": True, "fuzzy": True} if mode == "retranslate" else {}
            # The second run proves the cache; once per engine is enough.
            run = run_round(tmp, engine, round_files(mode), twice=mode == "default",
                            targets=TEMPLATE_TARGETS, options=options)  # fmt: skip
            self.done[engine, mode] = CatalogRound(mode, run)
        return self.done[engine, mode]


@pytest.fixture(scope="module")
def rounds(tmp_path_factory: pytest.TempPathFactory) -> Rounds:
    return Rounds(tmp_path_factory)


def _cases() -> list[tuple[str, str, str, str]]:
    """(engine, mode, input name, target code) of every output of every round."""
    cases = []
    for engine in ENGINES:
        for mode in MODES:
            names = {p.name for p in round_files(mode)}
            cases += [(engine, mode, n, c) for n, c in outputs() if n in names]
    return cases


@pytest.fixture(params=[(e, m) for e in ENGINES for m in MODES], ids=lambda p: "-".join(p))
def round_(request: pytest.FixtureRequest, rounds: Rounds) -> CatalogRound:
    engine, mode = request.param
    return rounds.get(engine, mode)


@pytest.fixture(params=_cases() if CATALOG_FILES else [], ids=lambda p: "-".join(p))
def case(request: pytest.FixtureRequest, rounds: Rounds) -> Case:
    """(round, input, output, target) of one output."""
    engine, mode, name, code = request.param
    found = rounds.get(engine, mode)
    return found, PO_CORPUS / name, found.output(name, code), resolve(code)


# --- the run as a whole ---------------------------------------------------------------------


def test_run_succeeds(round_: CatalogRound) -> None:
    """Every output written, no segment failed."""
    first = round_.run.first
    for file in first.files:
        assert file.error is None, file.error
        assert file.outputs and all(p.exists() for p in file.outputs)
    assert not first.failures and first.exit_code == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_second_run_sends_nothing_new(rounds: Rounds, engine: str) -> None:
    """Everything translated is cached: the second run sends nothing and writes the same
    catalogs (but for PO-Revision-Date)."""
    run = rounds.get(engine, "default").run
    ends = run.run_ends()
    assert len(ends) == 2 and run.second is not None
    assert ends[1]["requests"] == 0 and not run.second_requests
    assert not run.second.failures
    revision = re.compile(rb'^"PO-Revision-Date: [^"]*"$', re.MULTILINE)
    assert run.first_outputs
    for path, data in run.first_outputs.items():
        assert revision.sub(b"", path.read_bytes()) == revision.sub(b"", data), path


def test_msgctxt_pairs_are_sent_as_distinct_units(round_: CatalogRound) -> None:
    """The same msgid in two contexts: two entries out, each sent with its own context hint."""
    checked = 0
    for path in CATALOG_FILES:
        target = resolve(catalog_language(path))
        contexts: dict[str, list[str | None]] = {}
        for entry in read_po(path):
            if not entry.obsolete:
                contexts.setdefault(entry.msgid, []).append(entry.msgctxt)
        pairs = {m: c for m, c in contexts.items() if len(c) > 1}
        if not pairs:
            continue
        out = {(e.msgctxt, e.msgid): e for e in read_po(round_.output(path.name, target.code))}
        for msgid, ctxs in pairs.items():
            assert len(set(ctxs)) == len(ctxs), f"{path.name}: duplicate entry {msgid!r}"
            for ctx in ctxs:
                entry = out[(ctx, msgid)]
                if round_.mode != "retranslate" or entry.msgid_plural:
                    continue  # nothing sent / plurals: test_plural_forms
                assert entry.msgstr == round_.translation(msgid, target)
                if round_.engine == "emulator" and ctx and needs_translation(msgid):
                    assert _sent_with_context(round_.run.requests, target, ctx, msgid.strip()), ctx
                checked += 1
    if round_.mode == "retranslate":
        assert checked, "the corpus has no msgctxt pair"


def _sent_with_context(records: list[RequestRecord], target: Language, ctx: str, text: str) -> bool:
    hint = f'context "{" ".join(ctx.split())}"'
    return any(
        r.request.target_lang == target.name
        and hint in (r.request.domains or "")
        and text in packed_parts(r.request.content)
        for r in records
    )


# --- every output ----------------------------------------------------------------------------


def test_msgfmt_accepts_output(case: Case) -> None:
    _, _, dest, _ = case
    if MSGFMT is None:
        pytest.skip("gettext's msgfmt is not installed")
    for extra in ([], ["--use-fuzzy"]):
        done = subprocess.run([MSGFMT, "-c", *extra, "-o", os.devnull, str(dest)],
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr


def test_entries_kept_and_obsolete_unchanged(case: Case) -> None:
    _, source, dest, _ = case
    before, after = read_po(source), read_po(dest)
    assert len(before) == len(after)
    assert [(e.msgctxt, e.msgid, e.obsolete) for e in before] == [
        (e.msgctxt, e.msgid, e.obsolete) for e in after
    ]
    old, new = read_layout(source), read_layout(dest)
    raw = [["".join(c.lines[b.start : b.end]) for b, _ in c.entries if b.obsolete] for c in (old, new)]
    assert raw[0] == raw[1]


def test_sent_entries_translated_and_fuzzy(case: Case) -> None:
    """Sent entries: the engine's translation, flagged fuzzy; the others exactly as they were."""
    round_, source, dest, target = case
    template = source.suffix == ".pot"
    after = {(e.msgctxt, e.msgid): e for e in read_po(dest)}
    sent = 0
    for old in read_po(source):
        new = after[(old.msgctxt, old.msgid)]
        if not round_.selected(old, template):
            assert (new.msgstr, new.msgstr_plural, new.flags) == (old.msgstr, old.msgstr_plural, old.flags)
            continue
        sent += 1
        if old.msgid_plural:
            continue  # test_plural_forms
        expected = round_.translation(old.msgid, target)
        assert new.msgstr == expected, old.msgid
        if expected != old.msgstr or "fuzzy" in old.flags:
            assert "fuzzy" in new.flags, old.msgid
        else:
            assert new.flags == old.flags, old.msgid  # the engine agreed: nothing to review
    if not sent:
        assert not any(round_.selected(e, template) for e in read_po(source))
        assert dest.read_bytes() == source.read_bytes()


def test_plural_forms(case: Case) -> None:
    """Every plural entry has the header's number of forms; a sent one is filled by the rule:
    the form ``n = 1`` selects takes the singular's translation when its placeholders are the
    plural's, or when it has no directive and the form serves n = 1 only; every other form
    takes the plural's, so a count placeholder survives wherever n can be another number."""
    round_, source, dest, target = case
    template = source.suffix == ".pot"
    nplurals, form_of = plural_rule(read_po(dest).metadata["Plural-Forms"])
    one = form_of(1) if nplurals > 1 else None
    one_only = one is not None and all(form_of(n) != one for n in range(1001) if n != 1)
    after = {(e.msgctxt, e.msgid): e for e in read_po(dest)}
    for old in read_po(source):
        new = after[(old.msgctxt, old.msgid)]
        if old.obsolete or not old.msgid_plural:
            continue
        assert sorted(new.msgstr_plural) == list(range(nplurals)), old.msgid
        if not round_.selected(old, template):
            continue
        assert "fuzzy" in new.flags
        singular = round_.translation(old.msgid, target)
        plural = round_.translation(old.msgid_plural, target)
        same = placeholder_texts(old.msgid) == placeholder_texts(old.msgid_plural)
        bare = not placeholders(old.msgid, DIRECTIVE_FAMILIES)
        keep = not template and round_.mode == "default"
        for index in range(nplurals):
            form = new.msgstr_plural[index]
            if keep and old.msgstr_plural.get(index):
                assert form == old.msgstr_plural[index]  # a translator's form is kept
            elif index == one and (same or (one_only and bare)):
                assert form == singular, (old.msgid, index)
            else:
                assert form == plural, (old.msgid, index)


def test_header_fields(case: Case) -> None:
    _, source, dest, target = case
    if dest.read_bytes() == source.read_bytes():
        return  # nothing was sent: the catalog is copied as it was (test_sent_entries_...)
    meta, old = read_po(dest).metadata, read_po(source).metadata
    assert meta["Language"].split("_")[0] == target.code
    assert re.search(r"charset=UTF-8", meta["Content-Type"], re.IGNORECASE)
    assert meta["X-Generator"] == f"mtpipe {__version__}"
    assert meta["PO-Revision-Date"] != old.get("PO-Revision-Date")
    assert plural_rule(meta["Plural-Forms"])[0] >= 1
    changed = ("Language", "Plural-Forms", "Content-Type", "PO-Revision-Date", "X-Generator")
    kept = {k: v for k, v in old.items() if k not in changed}
    assert {k: meta[k] for k in kept} == kept


def test_pofilter_finds_nothing_new(case: Case) -> None:
    """pofilter's structural checks add no finding to the input's own (see ``exempt``);
    ``nplurals`` runs where the header's rule has translate-toolkit's number of forms (sphinx
    ru/pl catalogs declare 4, which mtpipe keeps: their translations are indexed by it)."""
    pytest.importorskip("translate.filters.pofilter", reason="translate-toolkit is not installed")
    _, source, dest, target = case
    tests = list(STRUCTURAL)
    nplurals, _ = plural_rule(read_po(dest).metadata["Plural-Forms"])
    if nplurals == toolkit_nplurals(target.code):
        tests.append("nplurals")
    before = pofilter_findings(source, tuple(tests), target.code)
    after = pofilter_findings(dest, tuple(tests), target.code)
    entries = {(e.msgctxt or "", e.msgid): e for e in read_po(dest)}
    new = {key: names - before.get(key, set()) - exempt(entries[key]) for key, names in after.items()}
    assert not {k: v for k, v in new.items() if v}


# --- the known gap ---------------------------------------------------------------------------

STRFTIME_POT = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

#, python-format
msgid "%b %d, %Y"
msgstr ""

#, c-format
msgid "%A, %B %e at %H:%M"
msgstr ""
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_strftime_directives_survive(tmp_path: Path, emulator: Emulator, engine: str) -> None:
    pot = tmp_path / "dates.pot"
    pot.write_text(STRFTIME_POT, encoding="utf-8")
    result = translate(make_job(tmp_path, engine, [pot], emulator.base_url), hooks=FAST_RETRIES)
    assert result.exit_code == 0, result.failures
    for entry in polib.pofile(str(tmp_path / "out" / "de" / "dates.po")):
        assert directives(entry.msgstr) == directives(entry.msgid), entry.msgstr


def test_in_place_never_overwrites_a_template(tmp_path: Path) -> None:
    pot = tmp_path / "app.pot"
    shutil.copy(Path(__file__).resolve().parents[2] / "samples" / "app.pot", pot)
    original = pot.read_bytes()
    try:
        translate(make_job(tmp_path, "pseudo", [pot], "http://127.0.0.1:9", in_place=True))
    except ConfigError:
        pass  # refusing is one fix; writing <stem>.po beside the template would be another
    assert pot.read_bytes() == original
