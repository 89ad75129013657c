"""Bad input through the whole pipeline: one corrupt file among ten, empty files, other
encodings, NUL bytes, huge fields and very long lines. Every case ends in a clear message
naming the file (and the line where known), never a traceback, and the good files still get
translated."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from mtpipe.cli import main
from mtpipe.errors import InputError
from mtpipe.formats import format_for
from mtpipe.run.runner import translate
from mtpipe.run.settings import InputSpec, Job
from mtpipe.testing import Emulator, fake_translate
from mtpipe.text.languages import resolve
from tests.conftest import FAST_RETRIES, KEY_ENV
from tests.reliability.procs import SAMPLES, environment, mtpipe_command


def mtpipe(tmp_path: Path, emulator: Emulator | None, *args: str) -> Result:
    """``mtpipe translate ARGS`` in process, through ``emulator`` (or the pseudo engine)."""
    engine = ["--base-url", emulator.base_url, "--api-key-env", KEY_ENV] if emulator else ["--engine", "pseudo"]
    common = ["--to", "de", "--from", "en", "--out", str(tmp_path / "out"), "--ledger", str(tmp_path / "ledger.jsonl"),
              "--cache", str(tmp_path / "cache.sqlite"), "--rpm", "6000", "--tpm", "1e7", *engine]  # fmt: skip
    return CliRunner().invoke(main, ["translate", *args, *common])


def write_csv(path: Path, texts: list[str], encoding: str = "utf-8") -> Path:
    """A CSV with columns id,text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "text"])
    writer.writerows((i, t) for i, t in enumerate(texts, start=1))
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def csv_column(path: Path, name: str, encoding: str = "utf-8") -> list[str]:
    """One column of a CSV output."""
    return [row[name] for row in csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline=""))]


def corrupt(path: Path) -> Path:
    """Damage ``path`` in a way its format's reader must refuse."""
    data = path.read_bytes()
    if path.suffix == ".csv":
        path.write_bytes(data + b'99,"unterminated\n')
    elif path.suffix == ".po":
        path.write_bytes(data + b'\nmsgid "dangling\nmsgstr ""\n')
    else:  # zip and Parquet files lose their end (central directory / footer)
        path.write_bytes(data[: len(data) // 2])
    return path


def ten_files(root: Path) -> list[Path]:
    """Ten inputs of every format (CSV column ``text``, Parquet column ``review``)."""
    root.mkdir()
    files = [write_csv(root / f"strings-{i}.csv", [f"Sentence {j} of file {i}" for j in range(5)]) for i in range(4)]
    for name, copies in (("app.pot", 1), ("app-de.po", 1), ("brochure.docx", 2), ("reviews.parquet", 2)):
        for copy in range(copies):
            dest = root / (name if copy == 0 else f"{Path(name).stem}-{copy}{Path(name).suffix}")
            shutil.copy(SAMPLES / name, dest)
            files.append(dest)
    assert len(files) == 10
    return files


def output_of(path: Path, out: Path) -> Path:
    """Where a file of ``ten_files`` is written with ``--to de``."""
    if path.suffix in (".csv", ".parquet"):
        return out / path.name
    return out / "de" / (path.stem + ".po" if path.suffix == ".pot" else path.name)


@pytest.mark.parametrize("bad", ["strings-2.csv", "app.pot", "brochure-1.docx", "reviews.parquet"])
def test_one_corrupt_file_among_ten(tmp_path: Path, emulator: Emulator, bad: str) -> None:
    files = ten_files(tmp_path / "in")
    corrupt(tmp_path / "in" / bad)
    result = mtpipe(tmp_path, emulator, *map(str, files), "--columns", "text,review")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    reported = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert len(reported) == 1 and str(tmp_path / "in" / bad) in reported[0], result.output
    for path in files:
        assert output_of(path, tmp_path / "out").exists() == (path.name != bad), path
    for path in files[:4]:
        if path.name != bad:
            texts = csv_column(path, "text")
            assert csv_column(output_of(path, tmp_path / "out"), "text_de") == [fake_translate(t, "German") for t in texts]


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("name", ["empty.csv", "empty.tsv", "empty.po", "empty.pot", "empty.docx", "empty.parquet"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = empty_file(tmp_path / name)
    result = mtpipe(tmp_path, None, str(path), "--columns", "text")
    assert "Traceback" not in result.output
    if result.exit_code == 0:  # nothing to translate: an output its own format reads back
        outputs = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
        assert len(outputs) == 1, result.output
        fmt = format_for(outputs[0])
        assert fmt is not None and list(fmt.read(outputs[0], {"columns": ["text"]})) == []
    else:
        assert result.exit_code == 2 and str(path) in result.output, result.output


def test_latin1_csv_says_how_and_translates_with_encoding(tmp_path: Path, emulator: Emulator) -> None:
    texts = ["Café crème au lait", "Größe und Maße", "Plain text"]
    data = write_csv(tmp_path / "menu.csv", texts, encoding="latin-1")
    refused = mtpipe(tmp_path, emulator, str(data), "--columns", "text")
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert str(data) in refused.output and "line 2" in refused.output
    assert "--encoding latin-1" in refused.output and "not valid UTF-8" in refused.output
    assert emulator.stats.received == 0  # refused before any request

    done = mtpipe(tmp_path, emulator, str(data), "--columns", "text", "--encoding", "latin-1")
    assert done.exit_code == 0, done.output
    raw = (tmp_path / "out" / "menu.csv").read_bytes()
    try:
        text = raw.decode("utf-8")  # written as UTF-8 when a translation does not fit Latin-1
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["text"] for r in rows] == texts
    assert [r["text_de"] for r in rows] == [fake_translate(t, "German") for t in texts]


def zip_with(base: Path, dest: Path, name: str, edit: Any) -> Path:
    """A copy of the .docx ``base`` with entry ``name`` transformed by ``edit(bytes)``."""
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            out.writestr(info, edit(data) if info.filename == name else data)
    return dest


def nul_inputs(root: Path) -> dict[str, Path]:
    """A file of each text format with a NUL byte in it."""
    root.mkdir()
    csv_path = root / "nul.csv"
    csv_path.write_bytes(b"id,text\n1,fine\n2,bro\x00ken\n")
    po_path = root / "nul.po"
    po_path.write_bytes((SAMPLES / "app.pot").read_bytes().replace(b'msgid "Tidy"', b'msgid "Ti\x00dy"'))
    docx_path = zip_with(SAMPLES / "brochure.docx", root / "nul.docx", "word/document.xml",
                         lambda data: data.replace(b"<w:t>", b"<w:t>\x00", 1))  # fmt: skip
    return {"csv": csv_path, "po": po_path, "docx": docx_path}


@pytest.mark.parametrize("kind", ["csv", "po", "docx"])
def test_nul_bytes_are_an_input_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = nul_inputs(tmp_path / "in")[kind]
    fmt = format_for(path)
    assert fmt is not None
    with pytest.raises(InputError) as caught:
        list(fmt.read(path, {"columns": ["text"]}))
    assert caught.value.path == path and str(path) in str(caught.value)
    if kind == "csv":
        assert caught.value.place == "line 3" and "NUL" in caught.value.reason


def test_nul_in_parquet_strings_is_data_not_a_crash(tmp_path: Path, emulator: Emulator) -> None:
    path = tmp_path / "nul.parquet"
    pq.write_table(pa.table({"id": [1, 2], "review": ["fine", "bro\x00ken text"]}), path)
    result = mtpipe(tmp_path, emulator, str(path), "--columns", "review")
    assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
    out = pq.read_table(tmp_path / "out" / "nul.parquet").column("review_de").to_pylist()
    assert out[0] == fake_translate("fine", "German")


def make_job(tmp_path: Path, emulator: Emulator, inputs: list[Path], **overrides: Any) -> Job:
    settings: dict[str, Any] = {
        "inputs": [InputSpec(p) for p in inputs], "targets": [resolve("de")], "source": resolve("en"),
        "out": tmp_path / "out", "base_url": emulator.base_url, "api_key_env": KEY_ENV,
        "ledger": tmp_path / "ledger.jsonl", "cache": tmp_path / "cache.sqlite", "rpm": 6000, "tpm": 10_000_000,
        "options": {"columns": ["text"]}, "timeout": 10.0,
    }  # fmt: skip
    settings.update(overrides)
    return Job(**settings)


def test_huge_field_fails_alone_with_its_place(tmp_path: Path, emulator: Emulator) -> None:
    huge = " ".join(f"word{i}" for i in range(400_000))  # ~3 MB on one line, far over the input limit
    data = write_csv(tmp_path / "huge.csv", ["Before the huge one", huge, "After the huge one"])
    result = translate(make_job(tmp_path, emulator, [data], rpm=None, tpm=None), hooks=FAST_RETRIES)  # no pacing wait for ~1M tokens
    assert result.exit_code == 1 and not result.aborted
    assert [f.place for f in result.failures] == ["row 2, column 'text' [de]"]
    assert "\n" not in result.failures[0].reason and len(result.failures[0].reason) < 500
    out = csv_column(tmp_path / "out" / "huge.csv", "text_de")
    assert out == [fake_translate("Before the huge one", "German"), "", fake_translate("After the huge one", "German")]


def test_field_over_the_csv_size_limit_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtpipe.formats.tabular import delimited

    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(10_000)  # the reader's limit (64 MiB) made small enough to test
        data = write_csv(tmp_path / "big.csv", ["short", "x" * 20_000])
        with pytest.raises(InputError) as caught:
            list(format_for(data).read(data, {"columns": ["text"]}))  # type: ignore[union-attr]
    finally:
        csv.field_size_limit(limit)
    assert caught.value.place == "line 3" and "field larger than field limit" in caught.value.reason
    assert delimited.FIELD_SIZE_LIMIT >= 64 * 1024 * 1024


def test_very_long_lines_read_in_every_text_format(tmp_path: Path) -> None:
    long_text = "Long line " + "with many words " * 60_000  # ~1 MB, one line
    po = tmp_path / "long.po"
    po.write_text(f'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "{long_text}"\nmsgstr ""\n', encoding="utf-8")
    data = write_csv(tmp_path / "long.csv", [long_text, "short"])
    for path, options in ((po, {}), (data, {"columns": ["text"]})):
        segments = list(format_for(path).read(path, options))  # type: ignore[union-attr]
        assert segments[0].text == long_text


def test_zip_directory_pointing_before_the_file_start_is_an_input_error(tmp_path: Path) -> None:
    """A central directory offset moved forward makes every local header offset negative:
    zipfile then fails with OSError (EINVAL from seek), which must be an InputError too."""
    data = bytearray((SAMPLES / "brochure.docx").read_bytes())
    end = data.rindex(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16 : end + 20], "little")
    data[end + 16 : end + 20] = (offset + 100_000).to_bytes(4, "little")
    path = tmp_path / "shifted.docx"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as caught:
        list(format_for(path).read(path, {}))  # type: ignore[union-attr]
    assert caught.value.path == path


# ---- one bad file beside a good one: the bad one fails (or is skipped) alone -----------------


def bad_input(folder: Path, case: str) -> tuple[Path, str]:
    """An input of shape ``case`` in ``folder``, and the message that names what is wrong."""
    header = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    if case == "duplicate msgid":
        path = folder / "dup.pot"
        path.write_text(header + 'msgid "Open"\nmsgstr ""\n\nmsgid "Open"\nmsgstr ""\n')
        return path, f"{path}: line 7: msgid 'Open' is defined twice, first at line 4"
    if case == "struct column":
        path = folder / "nested.parquet"
        pq.write_table(pa.table({"id": [1], "text": pa.array([{"en": "Open"}])}), path)
        return path, f"{path}: column 'text' is struct<en: string>, which holds no text to translate"
    if case == "empty csv":  # among tabular files: it has no columns, and nothing to translate
        return empty_file(folder / "empty.csv"), ""
    if case == "fifo":
        path = folder / "pipe.csv"
        os.mkfifo(path)
        return path, f"skipped {path}: not a regular file (a pipe, socket or device)"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["duplicate msgid", "struct column", "empty csv", "fifo"])
def test_a_bad_file_beside_a_good_one_fails_alone(tmp_path: Path, case: str) -> None:
    """Each of these failed the whole run (exit 2, the good file untranslated) or, for the
    duplicate msgid, wrote a catalog msgfmt refuses."""
    good = write_csv(tmp_path / "good.csv", ["Open the file", "Save all"])
    bad, message = bad_input(tmp_path, case)
    result = mtpipe(tmp_path, None, str(good), str(bad), "--columns", "text")
    assert "Traceback" not in result.output
    assert message in result.output
    translated = csv_column(tmp_path / "out" / "good.csv", "text_de")
    assert len(translated) == 2 and all(translated)
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    if case == "empty csv":
        assert result.exit_code == 0, result.output
        assert written == ["empty.csv", "good.csv"] and (tmp_path / "out" / "empty.csv").read_bytes() == b""
    elif case == "fifo":
        assert result.exit_code == 0, result.output
        assert written == ["good.csv"]
    else:
        assert result.exit_code == 1, result.output
        assert written == ["good.csv"]


def without_root_powers() -> list[str]:
    """A command prefix under which a file's permissions apply: none for a user; for root, who
    reads any file, a user namespace that maps it to an ordinary user (the files keep their
    owner, so root's own folders stay open to it). Skips when neither is possible."""
    if os.geteuid() != 0:
        return []
    prefix = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        pytest.skip("running as root without user namespaces: no file is unreadable")
    return prefix


def test_an_unreadable_input_fails_alone(tmp_path: Path) -> None:
    """A file its user may not read (chmod 000) is that file's error, said as the OS says it;
    click used to refuse the whole command ('Path ... is not readable'), good files included."""
    good = write_csv(tmp_path / "good.csv", ["Open the file"])
    locked = []
    for name in ("locked.csv", "locked.pot", "locked.docx", "locked.parquet"):
        path = tmp_path / name
        shutil.copy(SAMPLES / {".csv": "products.csv", ".pot": "app.pot", ".docx": "brochure.docx",
                               ".parquet": "reviews.parquet"}[path.suffix], path)  # fmt: skip
        path.chmod(0)
        locked.append(path)
    argv = [*without_root_powers(), *mtpipe_command(
        "translate", str(good), *map(str, locked), "--columns", "text", "--to", "de", "--engine", "pseudo",
        "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache.sqlite"), "--ledger", str(tmp_path / "l.jsonl"))]  # fmt: skip
    done = subprocess.run(argv, env=environment(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    for path in locked:
        reason = "cannot read" if path.suffix == ".pot" else "cannot open"
        assert f"failed: {path}: {reason}: Permission denied" in done.stderr
    assert "Traceback" not in done.stderr
    written = [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert written == ["good.csv"]


def test_a_file_that_fails_part_way_through_sends_none_of_its_segments(tmp_path: Path, emulator: Emulator) -> None:
    """Its first rows were planned, sent and paid for before the reader met the bad row, for a
    file that is then not written: the ledger showed '12 segments (13 unique)'."""
    good = write_csv(tmp_path / "good.csv", ["Open the file", "Save all"])
    bad = corrupt(write_csv(tmp_path / "bad.csv", ["Close the window", "Print the page", "Open the file"]))
    result = mtpipe(tmp_path, emulator, str(good), str(bad), "--columns", "text")
    assert result.exit_code == 1, result.output
    assert f"{bad}" in result.output and "Traceback" not in result.output
    sent = "\n".join(record.request.content for record in emulator.requests)
    assert "Close the window" not in sent and "Print the page" not in sent
    assert "Open the file" in sent  # the good file's, which the bad file shared
    assert csv_column(tmp_path / "out" / "good.csv", "text_de") == [fake_translate(t, "German") for t in ["Open the file", "Save all"]]
    assert not (tmp_path / "out" / "bad.csv").exists()
