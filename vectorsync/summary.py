"""The figures a run reports: on the terminal, as `--json`, as a Prefect table artifact and its final state message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vectorsync.records import Hit, Skip
from vectorsync.stores.base import DeadLetter

# The figures a person reads first, in the order the terminal table and the artifact show them.
SUMMARY_KEYS = (
    "files",
    "documents",
    "chunks",
    "embedded",
    "unchanged",
    "deleted",
    "pruned_documents",
    "skipped",
    "dead_lettered",
    "seconds",
    "model",
    "target",
    "index_state",
)

# The same figures in the words the Prefect UI shows.
_LABELS = {
    "path": "Path",
    "files": "Files read",
    "documents": "Documents (records)",
    "chunks": "Chunks",
    "embedded": "Chunks embedded",
    "unchanged": "Chunks unchanged (not re-embedded)",
    "deleted": "Chunks deleted",
    "pruned_documents": "Documents pruned",
    "skipped": "Inputs skipped",
    "dead_lettered": "Chunks dead-lettered",
    "seconds": "Seconds",
    "model": "Model",
    "target": "Store",
    "index_state": "Index state",
    "smoke_query": "Smoke-test query",
}

# A run over millions of records keeps this many skips and dead letters to show; the counts stay exact.
KEPT_PROBLEMS = 1_000


@dataclass
class RunSummary:
    """What one embedding run did; `completed` is False when it stopped early or `--strict` found skips."""

    target: str
    model: str
    path: str = ""
    files: int = 0
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    unchanged: int = 0
    deleted: int = 0
    pruned_documents: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    seconds: float = 0.0
    skips: list[Skip] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    model_loaded: bool = False
    index_state: str = "ABSENT"
    completed: bool = True
    smoke_query: str = ""
    smoke_hits: list[Hit] = field(default_factory=list)

    def add_skips(self, skips: list[Skip]) -> None:
        """Count `skips`, keeping the first `KEPT_PROBLEMS` of them to show."""
        self.skipped += len(skips)
        self.skips.extend(skips[: max(0, KEPT_PROBLEMS - len(self.skips))])

    def add_dead_letters(self, letters: list[DeadLetter]) -> None:
        """Count `letters`, keeping the first `KEPT_PROBLEMS` of them to show."""
        self.dead_lettered += len(letters)
        self.dead_letters.extend(letters[: max(0, KEPT_PROBLEMS - len(self.dead_letters))])

    @property
    def clean(self) -> bool:
        """True when nothing was skipped or dead-lettered."""
        return not (self.skipped or self.dead_lettered)

    def headline(self) -> str:
        """One line for the run's final state message: what happened, in counts."""
        parts = [f"{self.embedded} embedded", f"{self.unchanged} unchanged"]
        if self.deleted:
            parts.append(f"{self.deleted} deleted")
        parts.append(f"{self.skipped} skipped")
        if self.dead_lettered:
            parts.append(f"{self.dead_lettered} dead-lettered")
        files = f"{self.files} files, " if self.files else ""
        return f"{', '.join(parts)} ({files}{self.documents} documents, {self.chunks} chunks)"

    def as_json(self) -> dict[str, Any]:
        """The JSON object `vectorsync run --json` prints."""
        data = {k: v for k, v in asdict(self).items() if k not in {"skips", "dead_letters", "smoke_hits"}}
        data["smoke_hits"] = [
            {"score": round(h.score, 4), "source": h.source, "document": h.document, "text": h.text[:300]}
            for h in self.smoke_hits
        ]
        data["seconds"] = round(self.seconds, 3)
        data["skips"] = [{"source": s.source, "location": s.location, "reason": s.reason} for s in self.skips]
        data["dead_letters"] = [
            {"source": d.source, "location": d.location, "reason": d.reason} for d in self.dead_letters
        ]
        return data

    def table_rows(self) -> list[dict[str, Any]]:
        """Rows for the summary table artifact, in words a person reads: one figure per row."""
        figures = self.as_json()
        keys = ("path", *SUMMARY_KEYS, "smoke_query")
        return [{"figure": _LABELS[key], "value": _shown(figures[key])} for key in keys if figures.get(key) != ""]


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return " ".join(str(value).split())
