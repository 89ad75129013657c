"""Contract tests every format inherits (round trip, empty file, determinism, bad input).

A format's test module subclasses :class:`FormatContract` and provides the three factories.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from mtpipe.errors import InputError
from mtpipe.formats import format_for
from mtpipe.formats.base import Format, Options, option_list
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment

GERMAN = Language("de", "German")


class FuncTranslations:
    """Translations computed by a function of the segment text (identity by default)."""

    def __init__(self, fn: Callable[[str], str | None] = lambda text: text) -> None:
        self.fn = fn
        self.asked: list[Segment] = []

    def get(self, segment: Segment, target: Language) -> str | None:
        self.asked.append(segment)
        return self.fn(segment.text)


class FormatContract:
    """Mix into a test class; implement the factories below."""

    #: Set False for formats whose identity round trip is equal in content but not in bytes.
    options: ClassVar[Options] = {}
    #: Options for the identity round trip (tabular formats: ``{"in_place": True}`` so the
    #: translated columns replace the source ones and the file comes back byte for byte).
    round_trip_options: ClassVar[Options] = {}

    def make_sample(self, tmp_path: Path) -> Path:  # pragma: no cover - abstract
        """A small valid file with several segments."""
        raise NotImplementedError

    def make_empty(self, tmp_path: Path) -> Path:  # pragma: no cover - abstract
        """A valid file with nothing to translate."""
        raise NotImplementedError

    def make_corrupt(self, tmp_path: Path) -> Path:  # pragma: no cover - abstract
        """A file with the format's extension that cannot be read."""
        raise NotImplementedError

    def assert_same_content(self, original: Path, written: Path) -> None:
        """Byte-identical by default; override for formats that can only promise equal content."""
        assert written.read_bytes() == original.read_bytes()

    def translated_texts(self, written: Path, target: Language) -> list[str]:
        """The ``target`` translations ``written`` holds, in the order its source segments are
        read. By default the format reads them back: a one-target format's output in place of
        the source, a multi-target one's from its ``<column>_<code>`` columns (see
        mtpipe.formats.base.Format). Override for formats whose reader reads only the source
        (gettext catalogs)."""
        fmt = self._format(written)
        options = dict(self.options)
        if fmt.multi_target:
            columns = option_list(options, "columns") or []
            options["columns"] = [f"{column}_{target.code}" for column in columns]
        return [seg.text for seg in fmt.read(written, options)]

    # ---- the contract -------------------------------------------------------------------

    def _format(self, path: Path) -> Format:
        fmt = format_for(path)
        assert fmt is not None, f"no format registered for {path.suffix}"
        return fmt

    def test_reads_segments_deterministically(self, tmp_path: Path) -> None:
        path = self.make_sample(tmp_path)
        fmt = self._format(path)
        first = list(fmt.read(path, self.options))
        second = list(fmt.read(path, self.options))
        assert first == second
        assert any(seg.text.strip() for seg in first)
        assert all(seg.place for seg in first)

    def test_identity_round_trip(self, tmp_path: Path) -> None:
        path = self.make_sample(tmp_path)
        fmt = self._format(path)
        dest = tmp_path / "out" / path.name
        options = {**self.options, **self.round_trip_options}
        fmt.write(path, dest, [GERMAN], FuncTranslations(), options)
        self.assert_same_content(path, dest)

    def test_each_translation_reaches_its_place_in_the_output(self, tmp_path: Path) -> None:
        path = self.make_sample(tmp_path)
        fmt = self._format(path)
        sources = [seg.text for seg in fmt.read(path, self.options) if seg.text.strip()]
        dest = tmp_path / "out" / path.name
        report = fmt.write(path, dest, [GERMAN], FuncTranslations(lambda t: "ZZ" + t), self.options)
        assert report.translated == len(sources) and report.failed == 0
        assert self.translated_texts(dest, GERMAN) == ["ZZ" + text for text in sources]

    def test_empty_file(self, tmp_path: Path) -> None:
        path = self.make_empty(tmp_path)
        fmt = self._format(path)
        assert [s for s in fmt.read(path, self.options) if s.text.strip()] == []
        dest = tmp_path / "out" / path.name
        fmt.write(path, dest, [GERMAN], FuncTranslations(), self.options)
        assert dest.exists()

    def test_corrupt_file_is_input_error_naming_file(self, tmp_path: Path) -> None:
        path = self.make_corrupt(tmp_path)
        fmt = self._format(path)
        with pytest.raises(InputError) as info:
            list(fmt.read(path, self.options))
        assert str(path) in str(info.value)
        assert "\n" not in str(info.value)

    def test_failed_write_leaves_existing_output(self, tmp_path: Path) -> None:
        path = self.make_sample(tmp_path)
        fmt = self._format(path)
        dest = tmp_path / "out" / path.name
        dest.parent.mkdir(parents=True)
        dest.write_bytes(b"previous good output")

        def boom(text: str) -> str:
            raise RuntimeError("engine exploded mid-write")

        with pytest.raises(RuntimeError):
            fmt.write(path, dest, [GERMAN], FuncTranslations(boom), self.options)
        assert dest.read_bytes() == b"previous good output"
        assert [p.name for p in dest.parent.iterdir()] == [dest.name]
