"""A Qwen-MT emulator: a real HTTP server on loopback, standard library only.

Used by the tests, the benchmarks and ``mtpipe fake-server``. It validates requests as the
provider does (:mod:`mtpipe.testing.protocol`), "translates" with
:func:`mtpipe.testing.fake_translate.fake_translate`, enforces RPM/TPM per second
(:mod:`mtpipe.testing.limits`), injects faults on demand (:mod:`mtpipe.testing.faults`) and
counts everything (:class:`~mtpipe.testing.limits.EmulatorStats`).

Usage::

    with run_emulator(EmulatorConfig(rpm=600)) as emu:
        httpx.post(f"{emu.base_url}/chat/completions", json=body,
                   headers={"Authorization": "Bearer test-key"})
        emu.script(Fault.SERVER_ERROR, n=2)     # the next two valid requests get a 500
        assert emu.stats.ok == 1

A request goes through: size (413) -> path (404) -> key (401) -> validation (400/404) ->
content moderation (trigger word) -> injected error fault -> rate limits (429) -> latency /
slow fault -> reply (200), reset or truncated body.
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Self

from mtpipe.testing.config import EmulatorConfig
from mtpipe.testing.faults import Fault, FaultPlan
from mtpipe.testing.handler import EmulatorServer
from mtpipe.testing.limits import EmulatorStats, RateLimiter, RequestRecord, StatsRecorder
from mtpipe.text.languages import QWEN_NAMES

__all__ = ["Emulator", "run_emulator", "serve_forever"]


class Emulator:
    """The emulator server. A context manager; ``start()`` / ``stop()`` also work.

    Thread-safe: requests are served concurrently (one thread per connection, HTTP/1.1
    keep-alive) while tests read :attr:`stats` or call :meth:`script`.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self.languages = self.config.languages or QWEN_NAMES
        self.limiter = RateLimiter(self.config.rpm, self.config.tpm)
        self.plan = FaultPlan(self.config.faults, self.config.seed)
        self._stats = StatsRecorder()
        self._records: deque[RequestRecord] = deque()
        self._records_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind (port 0: a free port chosen by the OS) and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self.stopping.clear()
        self._server = EmulatorServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"qwen-mt-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and wake sleeping requests; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        with self._connections_lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for tests -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/compatible-mode/v1``: what the client takes as base URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/compatible-mode/v1"

    @property
    def stats(self) -> EmulatorStats:
        """A consistent snapshot of the counters."""
        return self._stats.snapshot()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every valid request so far (when ``record_requests``), in completion order."""
        with self._records_lock:
            return list(self._records)

    def script(self, fault: Fault | str, n: int = 1) -> None:
        """The next ``n`` valid requests get ``fault`` (queued after earlier scripted faults)."""
        self.plan.script(Fault(fault), n)

    def reset_stats(self) -> None:
        """Zero the counters and forget recorded requests (limits and script are kept)."""
        self._stats.reset()
        with self._records_lock:
            self._records.clear()

    # -- used by the handler ---------------------------------------------------------------------

    def record(self, record: RequestRecord) -> None:
        """Keep ``record`` when recording is on."""
        if self.config.record_requests:
            with self._records_lock:
                self._records.append(record)

    def track(self, conn: socket.socket, alive: bool) -> None:
        """Register / forget an open connection (cut on stop)."""
        with self._connections_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    @property
    def recorder(self) -> StatsRecorder:
        """The live counters (the handler writes them)."""
        return self._stats


@contextmanager
def run_emulator(
    config: EmulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[Emulator]:
    """A started emulator for the duration of a ``with`` block; stopped on exit."""
    emulator = Emulator(config, host, port)
    with emulator:
        yield emulator


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 0,
    config: EmulatorConfig | None = None,
    on_ready: Callable[[Emulator], None] | None = None,
) -> None:
    """Serve until Ctrl-C (for ``mtpipe fake-server``); ``on_ready`` gets the started emulator."""
    with run_emulator(config, host, port) as emulator:
        if on_ready is not None:
            on_ready(emulator)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
