"""A run lock next to the ledger, so two runs of the same job never overlap.

The lock is a file created with ``O_CREAT | O_EXCL`` (atomic on local file systems and NFSv3+)
holding JSON ``{"pid", "host", "started", "token"}``. A lock whose holder is gone is *stale*
and is broken automatically: same host and the pid no longer exists, or a lock file left empty
or unreadable for more than :data:`UNREADABLE_GRACE_S` seconds (a crash between create and
write). A lock held from another host cannot be checked, so it is reported, never broken.

Another run holding the lock raises :class:`RunLocked`, exit code 3: the job's configuration is
fine and nothing was sent, but the run did not happen; a scheduler should report it like an
aborted run, not like a broken job file (exit 2).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from mtpipe.errors import PipelineError, RecordError
from mtpipe.records.ledger import utc_now

#: Seconds an empty or garbled lock file is given to be completed by its creator.
UNREADABLE_GRACE_S = 30.0
#: Attempts to take the lock when stale locks keep appearing (bounded, never spins).
_ATTEMPTS = 5


class RunLocked(PipelineError):
    """Another run of the same job (same ledger) holds the lock. Exit code 3."""

    exit_code = 3


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as written in the lock file."""

    pid: int
    host: str
    started: str
    token: str = ""

    def describe(self) -> str:
        """``pid 1234 on host web1, started 2024-05-01T02:00:00Z``."""
        return f"pid {self.pid} on host {self.host}, started {self.started}"


def read_holder(path: Path) -> Holder | None:
    """The holder recorded in the lock file, or None when it is missing, empty or garbled."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), str(data["started"]), str(data.get("token", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this host (owned by anyone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it belongs to another user
    except OSError:
        return False
    return True


def is_stale(path: Path, holder: Holder | None, now: float | None = None) -> bool:
    """Whether the lock at ``path`` (held by ``holder``) may be broken."""
    if holder is None:
        try:
            age = (now if now is not None else time.time()) - path.stat().st_mtime
        except FileNotFoundError:
            return True
        return age > UNREADABLE_GRACE_S
    if holder.host != socket.gethostname():
        return False
    return not pid_alive(holder.pid)


class RunLock:
    """``with RunLock(path): ...`` holds the lock for the block; see the module docstring.

    Raises :class:`RunLocked` on entry when a live run holds it. On exit the lock file is
    removed only if it is still ours (a lock broken and retaken by someone else is left alone).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.holder = Holder(os.getpid(), socket.gethostname(), utc_now(), uuid.uuid4().hex)
        self.broke_stale: Holder | None = None
        self._held = False

    def acquire(self) -> None:
        """Take the lock, breaking a stale one; RunLocked when a live run holds it."""
        content = json.dumps(asdict(self.holder))
        for _ in range(_ATTEMPTS):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                self._handle_existing()
                continue
            except OSError as exc:
                raise RecordError(f"the run lock {self.path}", exc) from None
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:  # an empty lock left behind would block the next runs
                with contextlib.suppress(OSError):
                    self.path.unlink()
                raise RecordError(f"the run lock {self.path}", exc) from None
            self._held = True
            return
        raise RunLocked(f"could not take the run lock {self.path}: it keeps being recreated")

    def _handle_existing(self) -> None:
        try:
            seen = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return  # released meanwhile: try again
        holder = read_holder(self.path)
        if not is_stale(self.path, holder):
            who = holder.describe() if holder else "a run that is starting"
            raise RunLocked(
                f"another run of this job holds the lock {self.path} ({who}): wait for it to "
                "finish; if that process is gone, delete the lock file"
            )
        self.broke_stale = holder
        _break(self.path, seen)

    def release(self) -> None:
        """Remove the lock file if it still holds our token."""
        if not self._held:
            return
        self._held = False
        current = read_holder(self.path)
        if current is not None and current.token == self.holder.token:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _break(path: Path, seen: str) -> None:
    """Remove the stale lock whose content was ``seen``, without removing a fresh one.

    The lock is first renamed aside (atomic), so of two runs breaking it at once only one gets
    it; if what was renamed is not what was judged stale (a new lock slipped in between), it is
    put back with ``link``, which fails rather than overwrite a lock taken meanwhile.
    """
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    try:
        if aside.read_text(encoding="utf-8") != seen:
            try:
                os.link(aside, path)
            except FileExistsError:
                pass
    finally:
        aside.unlink(missing_ok=True)
