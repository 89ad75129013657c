"""The emulator's HTTP side: the threaded server and the request handler.

The handler walks a request through size (413) -> path (404) -> key (401) -> validation
(400/404) -> moderation trigger word -> injected error fault -> rate limits (429) -> latency /
slow fault -> reply (200), reset or truncated body, counting each step in the emulator's stats.
"""

from __future__ import annotations

import io
import logging
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from mtpipe.engine.tokens import count_tokens
from mtpipe.testing.config import EmulatorConfig
from mtpipe.testing.fake_translate import fake_translate
from mtpipe.testing.faults import (
    ERROR_FAULTS,
    Fault,
    FaultPlan,
    bad_reply,
    content_rejected,
    fault_error,
    flatten_lines,
    merge_lines,
)
from mtpipe.testing.limits import RateLimiter, RequestRecord, StatsRecorder
from mtpipe.testing.protocol import (
    ApiError,
    ParsedRequest,
    cut_to_tokens,
    error_body,
    new_request_id,
    parse_chat_request,
    parse_request,
    success_body,
)

__all__ = ["PATHS", "EmulatorServer"]

log = logging.getLogger(__name__)

PATHS = frozenset({"/compatible-mode/v1/chat/completions", "/v1/chat/completions"})
_DRAIN_LIMIT = 64 * 1024 * 1024  # past this an oversized body is not read, the socket is closed


class Served(Protocol):
    """What the handler needs of the emulator it serves (:class:`~mtpipe.testing.emulator.Emulator`
    keeps it); a protocol, so that the handler does not import the server that imports it."""

    @property
    def config(self) -> EmulatorConfig:
        """What the emulator was told."""

    @property
    def languages(self) -> frozenset[str]:
        """The English language names it accepts."""

    @property
    def limiter(self) -> RateLimiter:
        """The RPM/TPM limits."""

    @property
    def plan(self) -> FaultPlan:
        """The faults to inject."""

    @property
    def recorder(self) -> StatsRecorder:
        """The live counters."""

    @property
    def stopping(self) -> threading.Event:
        """Set when the server stops (wakes sleeping requests)."""

    def record(self, record: RequestRecord) -> None:
        """Keep ``record`` when recording is on."""

    def track(self, conn: socket.socket, alive: bool) -> None:
        """Register / forget an open connection."""


class EmulatorServer(ThreadingHTTPServer):
    """One thread per connection, quiet, knowing its :class:`Emulator`."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], emulator: Served) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver calls this from its except block: exc_info is the error being handled.
        log.debug("emulator: error serving %s", client_address, exc_info=True)  # noqa: LOG014


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "qwen-mt-emulator"
    timeout = 120  # idle keep-alive connections are dropped after this
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.emulator.track(self.connection, True)

    def finish(self) -> None:
        self.server.emulator.track(self.connection, False)
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator: " + format, *args)

    def do_POST(self) -> None:
        emu = self.server.emulator
        emu.recorder.begin()
        try:
            self._post(emu)
        finally:
            emu.recorder.end()

    def do_GET(self) -> None:
        emu = self.server.emulator
        emu.recorder.begin()
        try:
            self._not_found()
        finally:
            emu.recorder.end()

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _not_found(self) -> None:
        self._discard_body()
        self._error(
            ApiError(404, "NotFound", f"Not found: {self.command} {self.path}"), new_request_id()
        )

    # -- the request -----------------------------------------------------------------------------

    def _post(self, emu: Served) -> None:
        request_id = new_request_id()
        config = emu.config
        try:
            length = int(self.headers.get("Content-Length", ""))
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = True
            self._error(ApiError(411, "InvalidParameter", "Content-Length required"), request_id)
            return
        if length > config.max_body_bytes:
            self.close_connection = True
            if length <= _DRAIN_LIMIT:
                self._discard_body(length)
            too_large = ApiError(413, "RequestEntityTooLarge", "Request body too large")
            self._error(too_large, request_id)
            return
        raw = self.rfile.read(length)
        if urlsplit(self.path).path.rstrip("/") not in PATHS:
            self._error(ApiError(404, "NotFound", f"Not found: POST {self.path}"), request_id)
            return
        if self.headers.get("Authorization", "") != f"Bearer {config.api_key}":
            bad_key = ApiError(401, "InvalidApiKey", "Invalid API-key provided.", "invalid_api_key")
            self._error(bad_key, request_id)
            return
        chat = config.mode == "chat"
        try:
            request = (parse_chat_request if chat else parse_request)(
                raw,
                models=config.chat_models if chat else config.models,
                languages=emu.languages,
                max_input_tokens=config.max_input_tokens,
            )
        except ApiError as error:
            self._error(error, request_id)
            return
        self._translate(emu, request, request_id)

    def _translate(self, emu: Served, request: ParsedRequest, request_id: str) -> None:
        config = emu.config
        trigger = config.faults.trigger_word
        if trigger and trigger in request.content:
            self._error(content_rejected(), request_id, RequestRecord(request, 400, None, None))
            return
        fault, scripted = emu.plan.next()
        if fault in ERROR_FAULTS:
            assert fault is not None
            emu.recorder.fault(fault.value)
            error = fault_error(fault, config.faults)
            self._error(error, request_id, RequestRecord(request, error.status, fault.value, None))
            return

        reply = fake_translate(request.content, request.target_lang, request.terms)
        merged = merge_lines(reply, emu.plan) if fault is Fault.MERGED_LINES else None
        if merged is not None:
            reply = merged
        if config.keep_lines is not None and reply.count("\n") >= config.keep_lines:
            reply = flatten_lines(reply)
        reply = config.reply_prefix + bad_reply(fault, request.content, reply) + config.reply_suffix
        finish_reason = "stop"
        completion = count_tokens(reply)
        if completion > config.max_output_tokens:
            reply = cut_to_tokens(reply, config.max_output_tokens)
            completion = count_tokens(reply)
            finish_reason = "length"

        admission = emu.limiter.admit(request.prompt_tokens + completion)
        if not admission.admitted:
            if scripted and fault is not None:
                emu.plan.give_back(fault)
            assert admission.kind is not None
            emu.recorder.throttled(admission.kind)
            error = _throttled(admission.kind, admission.wait_s, config.throttle_retry_after)
            self._error(error, request_id, RequestRecord(request, 429, None, None))
            return
        emu.recorder.admitted()

        applied = None if fault is Fault.MERGED_LINES and merged is None else fault
        name = applied.value if applied is not None else None
        if applied is not None:
            emu.recorder.fault(applied.value)
        delay = config.latency_s + config.latency_per_token_s * completion
        delay += config.faults.slow_s if fault is Fault.SLOW else 0.0
        if delay > 0:
            emu.stopping.wait(delay)

        usage = (request.prompt_tokens, completion)
        if fault is Fault.RESET:
            emu.recorder.billed(*usage, lost=True)
            emu.record(RequestRecord(request, None, name, reply))
            self._reset()
            return
        body = success_body(request_id, request.model, reply, finish_reason, *usage)
        record = RequestRecord(request, 200, name, reply)
        self._send(200, body, {}, record=record, usage=usage, truncate=fault is Fault.TRUNCATED)

    # -- writing -----------------------------------------------------------------------------------

    def _discard_body(self, length: int | None = None) -> None:
        if length is None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = 0
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)

    def _error(self, error: ApiError, request_id: str, record: RequestRecord | None = None) -> bool:
        body = error_body(error, request_id)
        return self._send(error.status, body, error.headers, record=record)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        *,
        record: RequestRecord | None = None,
        usage: tuple[int, int] | None = None,
        truncate: bool = False,
    ) -> bool:
        """Write a response; True when it was fully written.

        Counters and the record are updated *before* writing, so a client that has read the
        response sees them; they are corrected if the write fails. ``usage`` is billed;
        ``truncate`` sends half of the body (a lost, billed response).
        """
        emu = self.server.emulator
        if truncate:
            if record is not None:
                record.status = None
            if usage is not None:
                emu.recorder.billed(*usage, lost=True)
        else:
            emu.recorder.status(status)
            if usage is not None:
                emu.recorder.billed(*usage, lost=False)
        if record is not None:
            emu.record(record)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            if self.close_connection or truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            if not truncate:
                emu.recorder.retract(status, usage)
                if record is not None:
                    record.status = None
            return False
        if truncate:
            self.close_connection = True
            return False
        return True

    def _reset(self) -> None:
        """Abort the connection with a TCP RST and no response."""
        self.close_connection = True
        conn = self.connection
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The fd is closed (and the RST sent) only once the file objects let go of it.
        self.rfile.close()
        self.wfile.close()
        conn.close()
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()


def _throttled(kind: str, wait_s: float, with_headers: bool) -> ApiError:
    message = "Requests rate limit exceeded" if kind == "rpm" else "Allocated quota exceeded"
    headers: dict[str, str] = {}
    if with_headers:
        headers["Retry-After"] = str(max(1, int(-(-wait_s // 1))))
        headers["retry-after-ms"] = str(max(1, round(wait_s * 1000)))
    return ApiError(429, "Throttling.RateQuota", message, "limit_requests", headers=headers)
