"""Signs that an endpoint cannot serve the run at all, and the errors that stop the run then.

Retries and resends handle a bad reply or a failed attempt now and then; :class:`EndpointWatch`
counts the patterns no retry will mend: replies that keep giving the source back (a relay that
drops ``translation_options``, a model that is not an MT model) and connections that keep
failing before anything is sent (no network, a wrong base URL or proxy). The retry budget's
verdict on an endpoint that keeps failing is :class:`EndpointUnhealthy`.
"""

from __future__ import annotations

from mtpipe.errors import ProviderError

__all__ = [
    "ECHOES_TO_STOP",
    "UNREACHABLE_AT_START",
    "UNREACHABLE_LATER",
    "EndpointIgnoresOptions",
    "EndpointUnhealthy",
    "EndpointUnreachable",
    "EndpointWatch",
    "NotSent",
]

#: Replies in a row that gave the source back, with none translated between, that stop a run.
ECHOES_TO_STOP = 3
#: Failed connections in a row that stop a run which has had no reply yet (later in a run, a
#: network blip is retried as usual, up to UNREACHABLE_LATER).
UNREACHABLE_AT_START = 3
UNREACHABLE_LATER = 12


class EndpointUnhealthy(ProviderError):
    """The run's retry budget is spent: the endpoint keeps failing."""

    fatal_for_run = True


class EndpointIgnoresOptions(ProviderError):
    """Replies keep giving the source back: the endpoint does not apply translation_options."""

    fatal_for_run = True


class EndpointUnreachable(ProviderError):
    """Connections to the endpoint keep failing before anything is sent."""

    fatal_for_run = True


class NotSent(ProviderError):
    """The run stopped before this attempt went out: the request fails, nothing is retried."""

    retryable = False


class EndpointWatch:
    """Counts replies that gave the source back and connections that failed, in a row."""

    def __init__(self) -> None:
        self.echoes = 0
        self.unreachable = 0

    def replied(self, gave_source_back: bool) -> EndpointIgnoresOptions | None:
        """A reply came back; the error that stops the run once :data:`ECHOES_TO_STOP` in a row
        gave the source back, else None."""
        self.unreachable = 0
        self.echoes = self.echoes + 1 if gave_source_back else 0
        if self.echoes < ECHOES_TO_STOP:
            return None
        return EndpointIgnoresOptions(
            f"{self.echoes} replies in a row gave the source text back untranslated: the "
            "endpoint ignores translation_options or the task (a relay that drops them, or a "
            "model that does not translate); check --base-url, --model and --engine",
            code="echo",
        )

    def attempt_failed(self, error: ProviderError, had_replies: bool) -> None:
        """An attempt failed with ``error``; raises EndpointUnreachable (not retried: the run
        stops) once connections keep failing, :data:`UNREACHABLE_AT_START` times in a row before
        any reply, :data:`UNREACHABLE_LATER` after."""
        if error.code != "connect":
            self.unreachable = 0
            return
        self.unreachable += 1
        if self.unreachable >= (UNREACHABLE_LATER if had_replies else UNREACHABLE_AT_START):
            raise EndpointUnreachable(
                f"{error}, {self.unreachable} times in a row; nothing was sent: check the "
                "network, the base URL (--base-url, --region) and any proxy settings (HTTPS_PROXY)",
                code="unreachable",
            )
