"""A file the reader refuses part-way through leaves the planner's work store as if it had never
been read: none of its units is sent, none of its segments counted (Planner.add_segments)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mtpipe.errors import InputError
from mtpipe.records.cache import Cache
from mtpipe.run.engines import engine_identity
from mtpipe.run.planner import Planner
from mtpipe.run.results import FileResult
from mtpipe.run.settings import Job
from mtpipe.run.workstore import WorkStore
from mtpipe.text.glossary import Glossary
from mtpipe.text.languages import resolve
from mtpipe.text.segments import Segment

GERMAN, FRENCH = resolve("de"), resolve("fr")


def _job() -> Job:
    return Job(inputs=[], targets=[GERMAN, FRENCH], source=resolve("en"), engine="pseudo")


def _failing(texts: list[str]) -> Iterator[Segment]:
    for n, text in enumerate(texts):
        yield Segment(text, f"row {n}")
    raise InputError(Path("f2.csv"), "broken quoting", "line 9")


@pytest.mark.parametrize("buffer", [1, 2, 3, 1000])
def test_a_file_failing_part_way_leaves_the_store_as_if_never_read(buffer: int) -> None:
    the_job = _job()
    cache = Cache(None)
    cache.put_many([])
    planner = Planner(the_job, engine_identity(the_job), cache, Glossary(), store=WorkStore(buffer=buffer))
    try:
        r1, r2, r3 = FileResult(Path("f1")), FileResult(Path("f2")), FileResult(Path("f3"))
        planner.add_segments("f1", [Segment("Alpha", "r1"), Segment("Beta", "r2")], [GERMAN, FRENCH], r1)
        with pytest.raises(InputError):
            planner.add_segments("f2", _failing(["Alpha", "Gamma", "Delta", "Gamma"]), [GERMAN, FRENCH], r2)
        planner.add_segments("f3", [Segment("Gamma", "r1"), Segment("Alpha", "r2")], [GERMAN, FRENCH], r3)
        planner.end_planning()
        units = list(planner.store.units())
        assert sorted(u.text for u in units) == ["Alpha", "Alpha", "Beta", "Beta", "Gamma", "Gamma"]
        assert planner.store.to_send == 6
        assert planner.store.to_send_by_file() == {"f1": 4, "f3": 2}
        assert {u.file for u in units if u.text == "Gamma"} == {"f3"}
        assert planner.estimate.unique == 6 and planner.estimate.segments == 8
        assert r2.by_target == {} and r2.segments == 0
        settled = planner.store.settle(lambda key: False)
        assert sum(s.failed for (f, _), s in settled.items() if f == 1) == 0
        assert sum(s.failed for s in settled.values()) == 8
    finally:
        planner.close()
        cache.close()
