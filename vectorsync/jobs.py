"""One parameter model per job: the single description of inputs for the CLI, the flows and the Prefect UI form."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from vectorsync.settings import Settings
from vectorsync.sources import LoadOptions


class SettingsOverrides(BaseModel):
    """Settings a run may override; unset fields keep the environment's or vectorsync.toml's value."""

    data_dir: Path | None = Field(None, description="Data directory of the embedded store (default ./.vectorsync).")
    embedder: Literal["sentence-transformers", "openai"] | None = Field(None, description="Which embedder runs.")
    model: str | None = Field(None, description="Model id or local path.")
    batch_size: int | None = Field(None, ge=1, le=2048, description="Texts per model call.")
    store: Literal["auto", "lancedb", "mongodb"] | None = Field(None, description="Target store.")

    def settings(self) -> Settings:
        """The settings in force for this run."""
        return Settings(**{k: v for k, v in self.model_dump().items() if v is not None})


class EmbedNewData(SettingsOverrides):
    """Embed new files (txt, md, pdf, jsonl, csv, parquet) into the vector store, then index and smoke-test it."""

    path: str = Field("examples/docs", description="A file, a folder or a glob of files to embed.")
    text_field: str = Field("text", description="Field holding the text in JSONL, CSV and Parquet records.")
    id_field: str | None = Field(None, description="Field holding a stable record id (line/row number if unset).")
    prune: bool = Field(False, description="Sync mode: delete chunks of documents that are gone from PATH.")
    refresh: bool = Field(False, description="Re-embed everything, ignoring fingerprints of stored chunks.")
    strict: bool = Field(False, description="Fail the run when any input was skipped.")
    query: str | None = Field(None, description="Smoke-test query; a stored chunk's own text when unset.")
    top_k: int = Field(3, ge=1, le=50, description="Hits shown by the smoke test.")

    def load_options(self) -> LoadOptions:
        """How the loaders read records."""
        return LoadOptions(text_field=self.text_field, id_field=self.id_field)

    def describe(self) -> dict[str, Any]:
        """Parameters worth logging at the start of a run."""
        return self.model_dump(exclude_none=True)
