"""How files are read into records: which fields hold the text and the id, and how big a record may be."""

from __future__ import annotations

from dataclasses import dataclass

from vectorsync.errors import ConfigError


@dataclass(frozen=True)
class LoadOptions:
    """Choices for the loaders; the defaults suit plain documents and rows with a `text` field.

    `text_fields`, when set, replaces `text_field`: the named fields are joined with a space
    (e.g. `("title", "text")`). `id_field` names the row key; the line or row number is used without it.
    Text longer than `max_record_chars` becomes several records, so memory stays bounded. A JSONL or CSV
    line (or CSV field) longer than `max_line_chars` is skipped without being read into memory whole.
    """

    text_field: str = "text"
    text_fields: tuple[str, ...] | None = None
    id_field: str | None = None
    max_record_chars: int = 1_000_000
    max_line_chars: int = 1 << 24

    def __post_init__(self) -> None:
        if self.max_record_chars < 1:
            raise ConfigError(f"max_record_chars must be at least 1, got {self.max_record_chars}")
        if self.max_line_chars < 1:
            raise ConfigError(f"max_line_chars must be at least 1, got {self.max_line_chars}")
        if self.text_fields is not None and not self.text_fields:
            raise ConfigError("text_fields must name at least one field; leave it unset to use text_field")

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields whose text makes a record, in order."""
        return self.text_fields or (self.text_field,)


DEFAULT_OPTIONS = LoadOptions()
