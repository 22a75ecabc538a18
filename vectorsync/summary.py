"""The figures a run reports: on the terminal, as `--json`, and as a Prefect table artifact."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vectorsync.records import Hit, Skip
from vectorsync.stores.base import DeadLetter

# The figures a person reads first, in the order the terminal table and the artifact show them.
SUMMARY_KEYS = (
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


@dataclass
class RunSummary:
    """What one embedding run did; `completed` is False when it stopped early or `--strict` found skips."""

    target: str
    model: str
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    unchanged: int = 0
    deleted: int = 0
    pruned_documents: int = 0
    dead_lettered: int = 0
    seconds: float = 0.0
    skips: list[Skip] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    model_loaded: bool = False
    index_state: str = "ABSENT"
    completed: bool = True
    smoke_query: str = ""
    smoke_hits: list[Hit] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The JSON object `vectorsync run --json` prints."""
        data = {k: v for k, v in asdict(self).items() if k not in {"skips", "dead_letters", "smoke_hits"}}
        data["smoke_hits"] = [
            {"score": round(h.score, 4), "source": h.source, "document": h.document, "text": h.text[:300]}
            for h in self.smoke_hits
        ]
        data["seconds"] = round(self.seconds, 3)
        data["skipped"] = len(self.skips)
        data["skips"] = [{"source": s.source, "location": s.location, "reason": s.reason} for s in self.skips]
        data["dead_letters"] = [
            {"source": d.source, "location": d.location, "reason": d.reason} for d in self.dead_letters
        ]
        return data

    def table_rows(self) -> list[dict[str, Any]]:
        """Rows for the summary table artifact: one metric per row, so the UI shows it as a list."""
        figures = self.as_json()
        return [{"metric": key, "value": str(figures[key])} for key in SUMMARY_KEYS]
