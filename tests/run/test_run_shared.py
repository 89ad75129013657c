"""What the CLI's run and the Ray integration share, tested without Ray: the unit keys and the
lookup of translations by key (run/planner.py), planning segments that come from no file, the
run_start ledger line and the plain-http warning (run/engines.py), and a run package that
loads its runner only when asked."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from mtpipe.engine.units import MAX_TEXT_CHARS
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import Ledger
from mtpipe.run.engines import engine_identity, record_run_start, warn_plain_http
from mtpipe.run.planner import Keyer, Planner
from mtpipe.run.results import FileResult
from mtpipe.run.settings import Job
from mtpipe.run.translations import KeyedTranslations
from mtpipe.text.glossary import Glossary
from mtpipe.text.languages import Language, resolve
from mtpipe.text.segments import Segment

GERMAN = resolve("de")


def job(**settings: object) -> Job:
    return Job(inputs=[], targets=[GERMAN], source=resolve("en"), **settings)  # type: ignore[arg-type]


class Recording(KeyedTranslations):
    """KeyedTranslations that keeps what it was told failed."""

    def __init__(self, keys: Keyer, store: dict[str, str | None]) -> None:
        super().__init__(keys, store)
        self.reasons: list[tuple[str, str]] = []

    def failed(self, segment: Segment, target: Language, reason: str) -> None:
        self.reasons.append((segment.place, reason))


def test_keyed_translations_find_a_value_by_its_unit_key_and_keep_its_outer_whitespace() -> None:
    the_job = job(engine="pseudo")
    keys = Keyer(the_job, engine_identity(the_job), Glossary())
    padded = Segment("  Hello world\n", "row 1")
    lead, trail, key = keys.keyed(padded, GERMAN) or (0, 0, "")
    assert (lead, trail) == (2, 1)
    assert keys.keyed(Segment("Hello world", "row 9"), GERMAN) == (0, 0, key)  # one unit
    translations = Recording(keys, {key: "Hallo Welt"})
    assert translations.get(padded, GERMAN) == "  Hallo Welt\n"
    assert translations.get(Segment("{name}", "row 2"), GERMAN) == "{name}"  # never sent
    assert translations.get(Segment("Goodbye", "row 3"), GERMAN) is None
    too_long = Segment("a" * (MAX_TEXT_CHARS + 1), "row 4")
    assert translations.get(too_long, GERMAN) is None
    assert translations.reasons[0] == ("row 3", "not translated")
    assert translations.reasons[1][0] == "row 4" and translations.reasons[1][1].startswith("not sent:")


def test_the_job_domains_and_engine_decide_the_key() -> None:
    plain, hinted, chat = job(engine="pseudo"), job(engine="pseudo", domains="medical"), job(
        engine="chat", model="qwen-plus", instructions="Formal register."
    )
    segment = Segment("Take two tablets", "row 1")
    found = {
        name: Keyer(j, engine_identity(j), Glossary()).keyed(segment, GERMAN)
        for name, j in (("plain", plain), ("hinted", hinted), ("chat", chat))
    }
    assert len({value[2] for value in found.values() if value}) == 3


def test_segments_from_no_file_are_planned_like_a_file(tmp_path: Path) -> None:
    the_job = job(engine="pseudo")
    cache = Cache(tmp_path / "cache.sqlite")
    try:
        keys = Keyer(the_job, engine_identity(the_job), Glossary())
        cached = keys.keyed(Segment("Cached one", ""), GERMAN)
        assert cached is not None
        cache.put_many([(cached[2], "Zwischengespeichert", "pseudo", "de")])
        planner = Planner(the_job, engine_identity(the_job), cache, Glossary())
        result = FileResult(Path("batch"))
        segments = [
            Segment("Hello", "value 1"),
            Segment("  Hello ", "value 2"),  # the same unit
            Segment("Cached one", "value 3"),
            Segment("%s", "value 4"),  # nothing to translate
            Segment("b" * (MAX_TEXT_CHARS + 1), "value 5"),  # too long for any request
        ]
        planner.add_segments("batch", segments, [GERMAN], result)
        counts = result.by_target["de"]
        assert (counts.segments, counts.unchanged, counts.from_cache, counts.failed) == (5, 1, 1, 1)
        units = list(planner.store.units())
        assert planner.store.to_send == 1 and [u.text for u in units] == ["Hello"]
        assert units[0].key == (keys.keyed(Segment("Hello", ""), GERMAN) or (0, 0, ""))[2]
        assert units[0].file == "batch"
        planner.close()
    finally:
        cache.close()


def test_run_start_names_the_job_and_what_the_caller_adds(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl", "run-1")
    record_run_start(ledger, job(engine="chat", model="qwen-plus", name="nightly"), ["a.csv"], worker="h:1")
    ledger.close()
    line = json.loads((tmp_path / "ledger.jsonl").read_text())
    assert line["event"] == "run_start" and line["run_id"] == "run-1"
    assert (line["name"], line["engine"], line["model"], line["worker"]) == ("nightly", "chat", "qwen-plus", "h:1")
    assert (line["source_lang"], line["target_langs"], line["files"]) == ("en", ["de"], ["a.csv"])
    assert line["version"]


@pytest.mark.parametrize(
    ("engine", "base_url", "warned"),
    [
        ("qwen", "http://mt.example.invalid/compatible-mode/v1", True),
        ("chat", "http://10.1.2.3:8000/v1", True),
        ("qwen", "https://mt.example.invalid/compatible-mode/v1", False),
        ("chat", "http://127.0.0.1:8000/v1", False),
        ("pseudo", "http://mt.example.invalid/v1", False),
    ],
)
def test_plain_http_warning(engine: str, base_url: str, warned: bool) -> None:
    model = "qwen-plus" if engine == "chat" else "qwen-mt-turbo"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_plain_http(job(engine=engine, model=model, base_url=base_url))
    assert [str(w.message) for w in caught] == (
        [f"{base_url} is plain http: the API key would travel in clear text"] if warned else []
    )


def test_importing_the_planner_does_not_load_the_runner() -> None:
    code = (
        "import sys, mtpipe.run.planner, mtpipe.run.engines\n"
        "assert 'mtpipe.run.runner' not in sys.modules, 'runner loaded'\n"
        "from mtpipe.run import Job, translate\n"
        "assert translate.__module__ == 'mtpipe.run.runner' and Job.__name__ == 'Job'\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
