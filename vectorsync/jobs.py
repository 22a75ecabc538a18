"""One parameter model per job: the single description of inputs for the CLI, the flows and the Prefect UI form."""

from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

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
    update_index: bool = Field(False, description="Rebuild a vector index whose definition differs from the model's.")
    query: str | None = Field(None, description="Smoke-test query; a stored chunk's own text when unset.")
    top_k: int = Field(3, ge=1, le=50, description="Hits shown by the smoke test.")

    def load_options(self) -> LoadOptions:
        """How the loaders read records."""
        return LoadOptions(text_field=self.text_field, id_field=self.id_field)

    def describe(self) -> dict[str, Any]:
        """Parameters worth logging at the start of a run."""
        return self.model_dump(exclude_none=True)


class Evaluate(SettingsOverrides):
    """Score retrieval on a labelled BEIR-format set (nDCG@10, recall@10/100, MRR@10); optionally gate on a floor."""

    dataset: str = Field(
        "examples/eval", description="BEIR-format folder: corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv."
    )
    split: str = Field("test", description="Which qrels/<split>.tsv holds the judgements.")
    exact: bool = Field(False, description="Exact search instead of the ANN index.")
    k: int = Field(100, ge=100, le=1000, description="Documents retrieved per query (recall@100 needs 100).")
    long_text: Literal["truncate", "chunk"] = Field(
        "truncate",
        description="Documents over the model's limit: truncate (one vector from their first tokens, as published "
        "figures are made) or chunk (the pipeline's token-aware chunks; a document scores as its best chunk).",
    )
    table: str | None = Field(
        None, description="Table or collection the labelled corpus is embedded into; eval_<dataset> when unset."
    )
    floor: dict[str, float] | None = Field(
        None,
        description='Quality gate, e.g. {"ndcg@10": 0.6}: a fresh table is embedded and evaluated, and it replaces '
        "the serving one only when every metric reaches its floor; otherwise the run fails and nothing changes.",
    )
    reference: dict[str, float] | None = Field(
        None, description="Published figures to compare with; known ones (SciFact, all-MiniLM-L6-v2) when unset."
    )

    @field_validator("floor", "reference")
    @classmethod
    def _known_metrics(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        from vectorsync.evaluation.metrics import METRICS

        unknown = sorted(set(value or {}) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r}; use one of {', '.join(METRICS)}")
        return value


class EmbedExisting(SettingsOverrides):
    """Embed a text field of an existing MongoDB collection in place, then index and smoke-test it.

    The defaults name the Atlas sample dataset's `sample_airbnb.listingsAndReviews` and its `summary` field.
    """

    database: str = Field("sample_airbnb", min_length=1, description="Database of the collection to embed.")
    collection: str = Field("listingsAndReviews", min_length=1, description="Collection whose documents get vectors.")
    text: str = Field(
        "summary",
        min_length=1,
        description="What to embed: a field, a comma list of fields (joined by blank lines), "
        "or a template such as '{name}: {summary}'.",
    )
    vector_field: str = Field(
        "embedding",
        pattern=r"^[^$.][^.]*$",
        description="Top-level field that receives the vector; <field>_fingerprint and <field>_model go beside it.",
    )
    long_text: Literal["truncate", "chunk"] = Field(
        "truncate",
        description="Texts over the model's limit: embed their beginning (truncate), or split them into chunks in "
        "<collection>_chunks, each keeping the parent's _id in metadata._id (chunk).",
    )
    documents_per_batch: int = Field(
        256, ge=1, le=10_000, description="Documents read, embedded and written back per task; a crash redoes one."
    )
    index_name: str | None = Field(None, min_length=1, description="Vector search index name (default vector_index).")
    filter_fields: list[str] = Field(
        default_factory=list,
        description="Fields that search filters may use (of the chunk documents in chunk mode); added to the index.",
    )
    vector_format: Literal["float32", "array", "int8", "packed_bit"] | None = Field(
        None, description="How vectors are stored: BSON binary vectors (float32, int8, packed_bit) or plain arrays."
    )
    similarity: Literal["cosine", "euclidean", "dotProduct"] | None = Field(
        None, description="Vector similarity of the index (default cosine)."
    )
    update_index: bool = Field(
        False, description="Rebuild an existing index whose definition (e.g. dimensions) differs, instead of stopping."
    )
    query: str | None = Field(None, description="Smoke-test query; unset, a stored vector must find its own document.")
    top_k: int = Field(3, ge=1, le=50, description="Hits shown by the smoke test.")

    @field_validator("filter_fields", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_text(self) -> EmbedExisting:
        from vectorsync.errors import ConfigError
        from vectorsync.sources.mongodb import text_paths

        try:
            paths = text_paths(self.text_spec())
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        dotted = [name for _, name, _, _ in Formatter().parse(self.text) if name and "." in name]
        if dotted:
            nested = dotted[0].replace(".", "[", 1).replace(".", "][") + "]"
            raise ValueError(f"text template field {{{dotted[0]}}}: write a nested field as {{{nested}}}")
        if self.vector_field == "_id" or any(p.split(".")[0] == self.vector_field for p in paths):
            raise ValueError(f"vector_field '{self.vector_field}' would overwrite a field of the text; choose another")
        return self

    def text_spec(self) -> str | list[str]:
        """The text as `find_stale` takes it: a template as it is, field names as a list."""
        from vectorsync.sources.mongodb import is_template

        if is_template(self.text):
            return self.text
        return [part.strip() for part in self.text.split(",") if part.strip()]
