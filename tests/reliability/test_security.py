"""Security: the key never leaks, hostile .docx files are refused, outputs stay where they
belong, state files are private, and only the configured endpoint is contacted."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from mtpipe.engine.client import QwenClient, TranslationRequest
from mtpipe.errors import AuthError, ConfigError, InputError
from mtpipe.formats.docx import DocxFormat
from mtpipe.run.runner import translate
from mtpipe.run.settings import EngineHooks, InputSpec, Job
from mtpipe.testing import Emulator, EmulatorConfig, Fault, FaultConfig
from mtpipe.text.languages import resolve
from tests.conftest import KEY_ENV
from tests.reliability.procs import SAMPLES, environment, mtpipe_command, translate_args

SECRET_KEY = "sk-LEAKCHECK-7f3a9c1e5b2d4f60a8"
ROWS = "id,text\n" + "".join(f"{i},Sentence {i} to translate\n" for i in range(12)) + "12,A FORBIDDENWORD here\n"


def leaks(root: Path, *texts: str) -> list[str]:
    """Where the key (or its secret part) appears: files under ``root`` and the given texts."""
    needles = [SECRET_KEY.encode(), SECRET_KEY.removeprefix("sk-").encode()]
    found = [str(p) for p in root.rglob("*") if p.is_file() and any(n in p.read_bytes() for n in needles)]
    found += [f"output {i}" for i, text in enumerate(texts) if any(n.decode() in text for n in needles)]
    return found


def run_cli(args: list[str], key: str = SECRET_KEY, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(mtpipe_command(*args), env=environment(key), capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


def test_the_key_never_appears_anywhere(tmp_path: Path) -> None:
    """Runs with faults (5xx, 429, reset, torn body, moderation) and a refused key, at -v and
    -vv (the HTTP exchange with its headers, on mtpipe.http), via ``translate`` and ``run JOB.toml``; then
    scans stdout, stderr, ledger, cache, report and outputs for the key."""
    data = tmp_path / "data.csv"
    data.write_text(ROWS, encoding="utf-8")
    printed: list[str] = []
    faults = FaultConfig(retry_after_s=0, retry_after_ms=5)
    with Emulator(EmulatorConfig(api_key=SECRET_KEY, rpm=None, tpm=None, faults=faults)) as emu:
        for fault in (Fault.OVERLOADED, Fault.THROTTLE_RETRY_AFTER_MS, Fault.RESET, Fault.TRUNCATED, Fault.SERVER_ERROR):
            emu.script(fault)
        # One segment per request, several in flight: each fault hits another request, so the
        # backoffs (the CLI's base is 1 s) run side by side.
        fast = ["--no-packing", "--concurrency", "6", "--rpm", "60000", "--tpm", "1e9"]
        done = run_cli(translate_args([data], tmp_path, emu.base_url, "--columns", "text", *fast, "-vv"))
        printed += [done.stdout, done.stderr]
        assert done.returncode == 1, done.stderr  # the moderated row fails, the rest is translated
        assert "mtpipe.http: -> POST" in done.stderr  # -vv really logged the HTTP traffic
        assert "authorization: [redacted]" in done.stderr
        assert "DataInspectionFailed" in done.stderr

        job = tmp_path / "job.toml"
        job.write_text(
            f'source_lang = "en"\ntarget_langs = ["fr"]\nbase_url = "{emu.base_url}"\napi_key_env = "{KEY_ENV}"\n'
            'out = "job-out"\nledger = "job-state/ledger.jsonl"\ncache = "job-state/cache.sqlite"\n'
            '[[inputs]]\npath = "data.csv"\ncolumns = ["text"]\n',
            encoding="utf-8",
        )
        emu.script(Fault.OVERLOADED)
        for verbosity in ("-v", "-vv"):
            ran = run_cli(["run", str(job), verbosity, "--no-packing", "--concurrency", "6", "--rpm", "60000", "--tpm", "1e9"])
            printed += [ran.stdout, ran.stderr]
            assert ran.returncode == 1, ran.stderr
        assert (tmp_path / "job-state" / "ledger.report.json").exists()
        status = run_cli(["status", str(job), "--json"])
        printed += [status.stdout, status.stderr]

    with Emulator(EmulatorConfig(api_key="another-key")) as other:
        refused = run_cli(translate_args([data], tmp_path, other.base_url, "--columns", "text", "--to", "ja", "-vv", out="refused"))
        printed += [refused.stdout, refused.stderr]
        assert refused.returncode == 3 and "key" in refused.stderr and "region" in refused.stderr
    assert not leaks(tmp_path, *printed)


def test_the_key_is_in_no_repr_or_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
        return httpx.Response(401, json={"error": {"code": "InvalidApiKey", "message": f"bad key {request.headers['Authorization'][:10]}"}})

    client = QwenClient("https://example.invalid/v1", SECRET_KEY, transport=httpx.MockTransport(refuse))
    import anyio

    async def call() -> AuthError:
        try:
            await client.translate(TranslationRequest("Hello", "English", "German"))
        except AuthError as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("no AuthError")

    error = anyio.run(call)
    job = Job(inputs=[InputSpec(Path("x.csv"))], targets=[resolve("de")], api_key_env="SOME_ENV")
    for text in (repr(client), str(error), repr(error), repr(error.__cause__), repr(job), str(vars(error))):
        assert SECRET_KEY not in text and SECRET_KEY[3:] not in text


# ---- hostile .docx ------------------------------------------------------------------------

SECRET_FILE_TEXT = "TOP-SECRET-CONTENT-4471"
PARSED_PARTS = ["[Content_Types].xml", "_rels/.rels", "word/_rels/document.xml.rels", "word/document.xml",
                "docProps/core.xml", "word/header1.xml", "word/footer1.xml", "word/footnotes.xml"]  # fmt: skip


def with_part(dest: Path, name: str, edit: object) -> Path:
    """brochure.docx with entry ``name`` replaced by ``edit(old bytes)``."""
    with zipfile.ZipFile(SAMPLES / "brochure.docx") as source, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            out.writestr(info, edit(data) if info.filename == name else data)  # type: ignore[operator]
    return dest


def with_doctype(data: bytes, doctype: str, encoding: str) -> bytes:
    """``data`` (an XML part) re-encoded in ``encoding`` with ``doctype`` after its declaration."""
    text = data.decode("utf-8")
    declaration_end = text.index("?>") + 2 if text.startswith("<?xml") else 0
    body = text[declaration_end:]
    root_name = body.lstrip()[1:].split()[0].split(">")[0]
    decl = f'<?xml version="1.0" encoding="{encoding}" standalone="yes"?>'
    return (decl + doctype.replace("ROOT", root_name) + body).encode(encoding)


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16"])
@pytest.mark.parametrize("part", PARSED_PARTS)
@pytest.mark.parametrize("attack", ["xxe", "laughs"])
def test_no_external_entity_or_expansion_in_any_part(tmp_path: Path, part: str, encoding: str, attack: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_FILE_TEXT)
    if attack == "xxe":
        doctype = f'<!DOCTYPE ROOT [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    else:
        levels = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};">' for i in range(1, 12))
        doctype = f'<!DOCTYPE ROOT [<!ENTITY l0 "ha">{levels}]>'
    path = with_part(tmp_path / "hostile.docx", part, lambda data: with_doctype(data, doctype, encoding))
    fmt = DocxFormat()
    with pytest.raises(InputError) as caught:
        list(fmt.read(path, {}))
    assert caught.value.path == path and part in str(caught.value)
    assert SECRET_FILE_TEXT not in str(caught.value)
    assert not list(tmp_path.glob("out*"))


def lying_zip(dest: Path, name: str, real: bytes, declared: int) -> Path:
    """brochure.docx whose entry ``name`` holds ``real`` but declares ``declared`` bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(SAMPLES / "brochure.docx") as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info.filename, real if info.filename == name else source.read(info))
        if name not in source.namelist():
            out.writestr(name, real)
        for info in out.filelist:
            if info.filename == name:
                info.file_size = declared  # written into the central directory on close
    dest.write_bytes(buffer.getvalue())
    return dest


@pytest.mark.parametrize("name", ["word/document.xml", "word/media/padding.bin", "word/styles.xml"])
def test_zip_entry_lying_about_its_size_is_not_expanded(tmp_path: Path, name: str) -> None:
    import tracemalloc

    original = zipfile.ZipFile(SAMPLES / "brochure.docx").read("word/document.xml")
    bomb = original + b" " * (96 << 20)  # 96 MB of whitespace, deflated to ~100 KB
    path = lying_zip(tmp_path / "bomb.docx", name, bomb, declared=len(original))
    fmt = DocxFormat()
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            segments = list(fmt.read(path, {}))
            fmt.write(path, tmp_path / "out.docx", [resolve("de")], _Identity(), {})
            raise AssertionError(f"read {len(segments)} segments and wrote a lying archive")
        peak_mb = tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()
    assert caught.value.path == path and "corrupt zip entry" in str(caught.value)
    assert peak_mb < 32, f"{peak_mb:.0f} MB allocated reading a {len(original)}-byte entry"
    assert not (tmp_path / "out.docx").exists()


class _Identity:
    """Translations that return the source text."""

    def get(self, segment: object, target: object) -> str:
        return segment.text  # type: ignore[attr-defined, no-any-return]


def test_deeply_nested_xml_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    depth = 100_000
    nested = b"<w:sdt><w:sdtContent>" * depth + b"<w:p><w:r><w:t>deep</w:t></w:r></w:p>" + b"</w:sdtContent></w:sdt>" * depth

    def edit(data: bytes) -> bytes:
        return data.replace(b"<w:body>", b"<w:body>" + nested, 1)

    path = with_part(tmp_path / "deep.docx", "word/document.xml", edit)
    with pytest.raises(InputError) as caught:
        list(DocxFormat().read(path, {}))
    assert "word/document.xml" in str(caught.value)


# ---- where outputs go --------------------------------------------------------------------

def pseudo_job(tmp_path: Path, inputs: list[Path], **overrides: object) -> Job:
    settings: dict[str, object] = {
        "inputs": [InputSpec(p) for p in inputs], "targets": [resolve("de")], "engine": "pseudo",
        "out": tmp_path / "out", "ledger": tmp_path / "state" / "ledger.jsonl",
        "cache": tmp_path / "state" / "cache.sqlite", "options": {"columns": ["text"]},
    }  # fmt: skip
    settings.update(overrides)
    return Job(**settings)  # type: ignore[arg-type]


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "template",
    ["../{name}", "{lang}/../../{name}", "/tmp/mtpipe-escape-{lang}/{name}", "sub/../../escape/{name}", "{reldir}/../../{name}"],
)
def test_output_template_cannot_leave_the_output_directory(tmp_path: Path, template: str) -> None:
    data = tmp_path / "in" / "data.csv"
    data.parent.mkdir()
    data.write_text(ROWS, encoding="utf-8")
    before = files_under(tmp_path)
    with pytest.raises(ConfigError, match="outside the output directory"):
        translate(pseudo_job(tmp_path, [data], output_template=template))
    assert files_under(tmp_path) == before
    assert not Path("/tmp/mtpipe-escape-de").exists()


def test_a_symlink_inside_out_cannot_lead_outside(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "de").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="outside the output directory"):
        translate(pseudo_job(tmp_path, [SAMPLES / "brochure.docx"]))
    assert not any(outside.iterdir())


def test_a_job_file_template_cannot_leave_out(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(ROWS, encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(
        'target_langs = ["de"]\nengine = "pseudo"\nout = "out"\noutput_template = "../../{name}"\n'
        '[[inputs]]\npath = "data.csv"\ncolumns = ["text"]\n',
        encoding="utf-8",
    )
    ran = run_cli(["run", str(job)])
    assert ran.returncode == 2 and "output_template" in ran.stderr and "outside" in ran.stderr
    assert files_under(tmp_path) == {tmp_path / "data.csv", job}


@pytest.mark.parametrize("sample", ["products.csv", "app-de.po"])
def test_inputs_are_never_overwritten_without_in_place(tmp_path: Path, sample: str) -> None:
    # The output path is the input's own path: OUT/<file> for tables, OUT/de/<file> for catalogs.
    folder = tmp_path / ("project" if sample.endswith(".csv") else "project/de")
    folder.mkdir(parents=True)
    data = folder / sample
    data.write_bytes((SAMPLES / sample).read_bytes())
    before = data.read_bytes()
    options = {"columns": ["title"]}
    with pytest.raises(ConfigError, match="overwrite its input"):
        translate(pseudo_job(tmp_path, [data], out=tmp_path / "project", options=options))
    assert data.read_bytes() == before
    result = translate(pseudo_job(tmp_path, [data], out=tmp_path / "project", options=options, in_place=True))
    assert result.exit_code == 0 and data.read_bytes() != before  # asked for: written over


def test_outputs_inside_a_directory_input_are_not_read_back(tmp_path: Path) -> None:
    """A nightly job whose out lies inside the input directory must not translate its own
    outputs the next night (out/out/..., growing every run)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "data.csv").write_text(ROWS, encoding="utf-8")
    for _ in range(2):
        result = translate(pseudo_job(tmp_path, [tree], out=tree / "translated"))
        assert result.exit_code == 0
    assert files_under(tree / "translated") == {tree / "translated" / "data.csv"}


# ---- state files ---------------------------------------------------------------------------

def test_ledger_cache_and_report_are_private(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(ROWS, encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(
        'target_langs = ["de"]\nengine = "pseudo"\nout = "out"\nledger = "state/ledger.jsonl"\n'
        'cache = "state/cache.sqlite"\n[[inputs]]\npath = "data.csv"\ncolumns = ["text"]\n',
        encoding="utf-8",
    )
    old = os.umask(0o022)
    try:
        ran = run_cli(["run", str(job)])
    finally:
        os.umask(old)
    assert ran.returncode == 0, ran.stderr
    state = tmp_path / "state"
    private = [state / "ledger.jsonl", state / "cache.sqlite", state / "ledger.report.json"]
    private += [p for p in state.iterdir() if p.name.startswith("cache.sqlite-")]  # WAL, shared memory
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name} is {oct(path.stat().st_mode)}"


# ---- who is contacted -------------------------------------------------------------------------

class Recording(httpx.AsyncBaseTransport):
    """Forwards to the real transport and records every URL asked for."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_only_the_configured_base_url_is_contacted(tmp_path: Path, emulator: Emulator) -> None:
    (tmp_path / "data.csv").write_text(ROWS.replace("FORBIDDENWORD", "fine"), encoding="utf-8")
    emulator.script(Fault.OVERLOADED, 2)
    recording = Recording()
    job = pseudo_job(tmp_path, [tmp_path / "data.csv"], engine="qwen", base_url=emulator.base_url,
                     api_key_env=KEY_ENV, packing=False, rpm=None, tpm=None)  # fmt: skip
    assert translate(job, hooks=EngineHooks(transport=recording, retry_base=0.01)).exit_code == 0
    assert len(recording.urls) == emulator.stats.received == 15
    assert set(recording.urls) == {emulator.base_url + "/chat/completions"}


def test_a_redirect_elsewhere_is_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET_KEY)
    seen: list[str] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(307, headers={"Location": "https://collector.invalid/steal"})

    (tmp_path / "data.csv").write_text(ROWS, encoding="utf-8")
    job = pseudo_job(tmp_path, [tmp_path / "data.csv"], engine="qwen", base_url="https://mt.invalid/v1",
                     api_key_env=KEY_ENV)  # fmt: skip
    result = translate(job, hooks=EngineHooks(transport=httpx.MockTransport(redirect)))
    assert result.exit_code in (1, 3)
    assert seen and all(url.startswith("https://mt.invalid/v1/") for url in seen)
    reasons = [f.reason for f in result.failures] + [result.aborted or ""]
    assert any("redirects to https://collector.invalid/steal" in r and "--base-url" in r for r in reasons)


def test_a_key_a_gateway_quotes_back_reaches_no_message_or_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gateway that quotes the Authorization header in its 401: the run's error, its
    ``run_end`` line and every file it wrote are free of the key."""
    monkeypatch.setenv(KEY_ENV, SECRET_KEY)

    def quoting(request: httpx.Request) -> httpx.Response:
        quoted = request.headers["Authorization"]
        return httpx.Response(401, json={"error": {"code": f"bad {quoted}", "message": f"Authorization: {quoted} refused"}})

    (tmp_path / "data.csv").write_text(ROWS, encoding="utf-8")
    job = pseudo_job(tmp_path, [tmp_path / "data.csv"], engine="qwen", base_url="https://mt.invalid/v1",
                     api_key_env=KEY_ENV)  # fmt: skip
    result = translate(job, hooks=EngineHooks(transport=httpx.MockTransport(quoting)))
    assert result.exit_code == 3 and result.aborted and "refused" in result.aborted
    end = json.loads((tmp_path / "state" / "ledger.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert end["event"] == "run_end" and "[redacted]" in end["error"]
    assert not leaks(tmp_path, result.aborted, *(f.reason for f in result.failures))


_GUARD = (
    "import socket\n"
    "_real = socket.getaddrinfo\n"
    "def _loopback_only(host, *args, **kwargs):\n"
    "    if host not in ('127.0.0.1', 'localhost', '::1'):\n"
    "        raise OSError(f'test guard: refusing to resolve {host!r}')\n"
    "    return _real(host, *args, **kwargs)\n"
    "socket.getaddrinfo = _loopback_only\n"
    "from mtpipe.cli import main\n"
    "main()\n"
)


def test_plain_http_to_a_remote_host_warns_the_cli_user(tmp_path: Path, emulator: Emulator) -> None:
    """The emulator acts as the HTTP proxy for ``http://mt.example.invalid``: the name is never
    resolved (a guard refuses any non-loopback lookup), nothing leaves the machine."""
    data = tmp_path / "data.csv"
    data.write_text("id,text\n1,Hello world\n", encoding="utf-8")
    remote = "http://mt.example.invalid/compatible-mode/v1"
    args = translate_args([data], tmp_path, remote, "--columns", "text", "-q")
    env = environment(emulator.config.api_key, HTTP_PROXY=f"http://127.0.0.1:{emulator.port}", NO_PROXY="")
    ran = subprocess.run([*mtpipe_command()[:1], "-c", _GUARD, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    assert emulator.stats.ok == 1  # it went through the loopback proxy
    assert "clear text" in ran.stderr and remote in ran.stderr


def _send_one(base_url: str, key: str) -> str:
    client = QwenClient(base_url, key)

    async def call() -> str:
        try:
            return (await client.translate(TranslationRequest("Hello", "English", "German"))).text
        finally:
            await client.aclose()

    return anyio.run(call)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_loopback_endpoint_is_never_reached_through_a_proxy(
    variable: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second emulator plays the proxy: a loopback endpoint is called directly (the key does
    not go to the proxy), while any other endpoint still goes through the proxy the
    environment names (the name is never resolved: the proxy answers for it)."""
    with Emulator(EmulatorConfig(api_key=emulator.config.api_key)) as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        assert _send_one(emulator.base_url, emulator.config.api_key)
        assert (emulator.stats.received, proxy.stats.received) == (1, 0)
        assert _send_one("http://mt.example.invalid/compatible-mode/v1", emulator.config.api_key)
        assert (emulator.stats.received, proxy.stats.received) == (1, 1)


@pytest.mark.parametrize(
    ("url", "warns"),
    [
        ("http://127.0.0.1:8765/v1", False),
        ("http://localhost/v1", False),
        ("http://[::1]:8080/v1", False),
        ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", False),
        ("http://mt.example.invalid/v1", True),
        ("http://10.1.2.3/v1", True),
    ],
)
def test_clear_text_warning_by_host(url: str, warns: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtpipe.run.engines import client as _client

    monkeypatch.setenv("SOME_KEY_ENV", "k")
    job = Job(inputs=[], targets=[resolve("de")], base_url=url, api_key_env="SOME_KEY_ENV")
    with pytest.warns(UserWarning, match="clear text") if warns else _no_warning():
        _client(job)


@pytest.mark.parametrize("url", ["http://127.0.0.1.evil.example/v1", "http://127.0.0.1@evil.example/v1"])
def test_clear_text_warning_is_not_fooled_by_lookalike_hosts(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from mtpipe.run.engines import client as _client

    monkeypatch.setenv("SOME_KEY_ENV", "k")
    job = Job(inputs=[], targets=[resolve("de")], base_url=url, api_key_env="SOME_KEY_ENV")
    with pytest.warns(UserWarning, match="clear text"):
        _client(job)


@contextmanager
def _no_warning() -> Iterator[None]:
    """A block in which any warning is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_report_holds_no_secret_even_when_the_run_fails_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job whose key variable is unset writes an error report: it names the variable only."""
    (tmp_path / "data.csv").write_text(ROWS, encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(
        'target_langs = ["de"]\napi_key_env = "MTPIPE_UNSET_VAR"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'ledger = "state/ledger.jsonl"\ncache = "state/cache.sqlite"\n[[inputs]]\npath = "data.csv"\ncolumns = ["text"]\n',
        encoding="utf-8",
    )
    ran = run_cli(["run", str(job)])
    assert ran.returncode == 2 and "MTPIPE_UNSET_VAR" in ran.stderr
    report = json.loads((tmp_path / "state" / "ledger.report.json").read_text())
    assert "MTPIPE_UNSET_VAR" in report["error"] and not leaks(tmp_path, ran.stdout, ran.stderr)
