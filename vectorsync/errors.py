"""The exception hierarchy: every error vectorsync raises on purpose is a `VectorsyncError`."""

from __future__ import annotations


class VectorsyncError(Exception):
    """Base class of every error that vectorsync raises on purpose."""


class ConfigError(VectorsyncError):
    """A setting is missing, malformed or contradicts another; the message names the setting."""


class InputError(VectorsyncError):
    """A file or record cannot be used; the message names the file and, where known, the line or record."""

    def __init__(self, source: str, reason: str, location: str | None = None) -> None:
        self.source = source
        self.reason = reason
        self.location = location
        where = f"{source}:{location}" if location else source
        super().__init__(f"{where}: {reason}")


class FilterError(VectorsyncError):
    """A search filter uses an operator or field that `$vectorSearch` does not accept."""


class EmbedderError(VectorsyncError):
    """The embedding model refused its input: a record's own content (too long, empty, rejected by the model).

    Only this class, not its subclass `EmbedderUnavailable`, may turn a chunk into a dead letter.
    """


class EmbedderUnavailable(EmbedderError):
    """The embedder refuses every input alike, so no record is to blame and a retry would not help.

    Raised for a rejected API key (401), a missing permission (403), an unknown model or URL (404), an
    exhausted quota (429 insufficient_quota), a model that cannot be loaded, and a server that answers
    garbage. The message names the setting to fix. The run fails: nothing is dead-lettered or cached.
    """


class TransientError(VectorsyncError):
    """A fault that may heal by itself (timeout, rate limit, 5xx, lost connection): worth a retry.

    `retry_after` carries the server's own hint in seconds, when it sent one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class StoreError(VectorsyncError):
    """The vector store refused an operation or is unreachable."""


class IndexNotReady(StoreError):
    """The vector index did not become queryable in time, or reports a failed state."""


class DimensionMismatch(VectorsyncError):
    """Model, index and stored vectors disagree on the number of dimensions; the message says which is which."""


class MigrationError(VectorsyncError):
    """A model migration cannot start, switch, finish or roll back in the state it is in; the message says the state
    and the command that moves it on."""


class IncompleteRun(VectorsyncError):
    """A run finished its work but must count as failed (`--strict` with skipped input); `summary` has the figures."""

    def __init__(self, message: str, summary: dict[str, object]) -> None:
        self.summary = summary
        super().__init__(message)


class QualityGateFailed(VectorsyncError):
    """A freshly embedded index scored below the deployment's floor; the previous vectors keep serving.

    `metric`, `floor` and `value` name the first metric below its floor; `scores` has every figure of the run.
    """

    def __init__(self, metric: str, floor: float, value: float, message: str, scores: dict[str, object]) -> None:
        self.metric = metric
        self.floor = floor
        self.value = value
        self.scores = scores
        super().__init__(message)
