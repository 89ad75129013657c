"""The one exception tree of mtpipe.

::

    PipelineError                 anything mtpipe reports as a one-line message
    ├── InputError                a file cannot be read / is malformed (file, place, what)  exit 2*
    ├── ConfigError               bad option, job file, language, template                  exit 2
    ├── BudgetExceeded            --max-cost would be passed                                exit 3
    ├── RecordError               cache, ledger, work store, report or lock not writable    exit 3
    └── ProviderError             the translation endpoint said no
        ├── AuthError             401: wrong key or region                 fatal for the run  exit 3
        ├── QuotaError            403 / billing 429s: no quota left        fatal for the run  exit 3
        ├── RateLimited           429 throttling                           retried
        ├── ServerError           5xx, timeouts, resets, torn bodies       retried
        ├── ContentRejected       DataInspectionFailed, content-related 400  fatal for the segment
        ├── BadRequest            other 400s (model, language, fields)     fatal for the run  exit 3
        ├── TooLarge              413 / input too long                     split the request
        └── Truncated             finish_reason "length"                   split, then fail the segment

(*) an InputError in one file of a multi-file run only fails that file; the run goes on
and exits 1.

Messages never contain the API key: the client never puts it anywhere but the header.
"""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """Base of every error mtpipe reports to the user as a one-line message."""

    exit_code: int = 2


class InputError(PipelineError):
    """An input file cannot be read: names the file, the place in it, and what is wrong."""

    def __init__(self, path: Path | str, message: str, place: str | None = None) -> None:
        self.path = Path(path)
        self.place = place
        self.reason = message
        where = f"{self.path}: {place}: " if place else f"{self.path}: "
        super().__init__(where + message)


class ConfigError(PipelineError):
    """Invalid configuration: an option, a job file key, a language, a template."""


class BudgetExceeded(PipelineError):
    """Scheduling stopped because --max-cost would be passed."""

    exit_code = 3


class RecordError(PipelineError):
    """The cache, the ledger, the run's work store, a job's report or its lock cannot be written
    (disk full, permissions, I/O error). A reply that cannot be recorded would be paid for again
    by the next run, so the run stops sending at once."""

    exit_code = 3

    def __init__(
        self,
        what: str,
        error: BaseException,
        hint: str = "free space or fix the path, then run again",
        verb: str = "write",
    ) -> None:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        super().__init__(f"cannot {verb} {what}: {reason} ({hint})")


class ProviderError(PipelineError):
    """The translation endpoint refused or failed a request.

    ``code`` is the provider's error code (e.g. ``Throttling``), ``status`` the HTTP status
    (0 for transport failures), ``retry_after`` seconds when the server said so.
    """

    exit_code = 3
    retryable: bool = False
    fatal_for_run: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.retry_after = retry_after
        #: (prompt, completion) tokens when the provider billed the failed request.
        self.usage: tuple[int, int] | None = None
        super().__init__(message)


class AuthError(ProviderError):
    """401: the key is wrong or belongs to another region."""

    fatal_for_run = True


class QuotaError(ProviderError):
    """403 / billing 429: the account has no quota left for this model."""

    fatal_for_run = True


class RateLimited(ProviderError):
    """429 throttling (RPM, TPM or burst protection): slow down and retry."""

    retryable = True


class ServerError(ProviderError):
    """5xx, timeout, connection reset or an unreadable body: retry with backoff."""

    retryable = True


class ContentRejected(ProviderError):
    """Content moderation or a content-related 400: isolate the segment, mark it failed."""


class BadRequest(ProviderError):
    """Any other 400 (model, language, fields): no request can succeed until it is fixed."""

    fatal_for_run = True


class TooLarge(ProviderError):
    """413 or input over the model's limit: split the request."""


class Truncated(ProviderError):
    """The reply was cut at the output limit (finish_reason 'length')."""
