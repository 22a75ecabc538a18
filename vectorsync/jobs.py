"""One parameter model per job: the single description of inputs for the CLI, the flows and the Prefect UI form.

In the UI form a job's own fields come first and the settings overrides last. No field is nullable, so the form
shows no type switches: a settings override left at its default ("configured", empty, 0) keeps the value the
environment or vectorsync.toml gives, and Python callers may still pass None for "unset".
"""

from __future__ import annotations

import os
from string import Formatter
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vectorsync.settings import Settings
from vectorsync.sources import LoadOptions

CONFIGURED: Final = "configured"
"""The choice, in a settings override's list, that keeps the environment's value."""


def _settings_last(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The UI form lists properties in schema order: a job's own fields first, the settings overrides below."""
    properties = schema.get("properties", {})
    shared = [name for name in SettingsOverrides.model_fields if name in properties]
    schema["properties"] = {
        **{name: value for name, value in properties.items() if name not in shared},
        **{name: properties[name] for name in shared},
    }


def known_metrics(value: dict[str, float]) -> dict[str, float]:
    """`value` when every key is a metric the evaluation reports (a floor, published figures)."""
    from vectorsync.evaluation.metrics import METRICS

    unknown = sorted(set(value or {}) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r}; use one of {', '.join(METRICS)}")
    return value


class SettingsOverrides(BaseModel):
    """Settings a run may override; a field left at its default keeps the environment's or vectorsync.toml's value."""

    # Frozen, so that one instance can serve as a flow's default job: `job: EmbedNewData = DEFAULT_JOB`.
    model_config = ConfigDict(json_schema_extra=_settings_last, frozen=True)
    _zero_means_unset: ClassVar[frozenset[str]] = frozenset({"batch_size"})

    embedder: Literal["configured", "sentence-transformers", "openai"] = Field(
        CONFIGURED,
        description="Which embedder runs; configured: VECTORSYNC_EMBEDDER (sentence-transformers unless set).",
    )
    model: str = Field("", description="Model id or local path; empty: VECTORSYNC_MODEL or the embedder's default.")
    batch_size: int = Field(0, ge=0, le=2048, description="Texts per model call; 0: VECTORSYNC_BATCH_SIZE (64).")
    data_dir: str = Field(
        "", description="Folder of the embedded store; empty: VECTORSYNC_DATA_DIR (.vectorsync in the working folder)."
    )
    store: Literal["configured", "auto", "lancedb", "mongodb"] = Field(
        CONFIGURED,
        description="Where vectors go; configured: VECTORSYNC_STORE (auto: MongoDB when MONGODB_URI is set, else "
        "the embedded LanceDB store).",
    )

    @model_validator(mode="before")
    @classmethod
    def _none_is_unset(cls, data: Any) -> Any:
        """None (from the CLI's unset options or older saved parameters) means the field's default."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    @field_validator("data_dir", mode="before")
    @classmethod
    def _path_to_text(cls, value: object) -> object:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    def settings(self) -> Settings:
        """The settings in force for this run."""
        return Settings(**{key: value for key, value in self.model_dump().items() if not self._unset(key, value)})

    def _unset(self, key: str, value: object) -> bool:
        if key in self._zero_means_unset and value == 0:
            return True
        return value is None or (isinstance(value, str) and value in ("", CONFIGURED))


class EmbedNewData(SettingsOverrides):
    """Embed new files (txt, md, pdf, jsonl, csv, parquet) into the vector store, then index and smoke-test it."""

    path: str = Field("examples/docs", description="A file, a folder or a glob of files to embed.")
    query: str = Field("", description="A question to try on the index at the end; empty: a stored chunk's own text.")
    prune: bool = Field(False, description="Also delete the stored chunks of documents no longer at the path.")
    refresh: bool = Field(False, description="Re-embed every document, even those already stored unchanged.")
    strict: bool = Field(False, description="Fail the run when any file or record was skipped.")
    top_k: int = Field(3, ge=1, le=50, description="How many hits the test question shows.")
    update_index: bool = Field(
        False, description="Rebuild the vector index when its definition no longer fits the model."
    )
    text_field: str = Field("text", description="Field holding the text in JSONL, CSV and Parquet records.")
    id_field: str = Field("", description="Field holding a stable record id; empty: the line or row number.")

    def load_options(self) -> LoadOptions:
        """How the loaders read records."""
        return LoadOptions(text_field=self.text_field, id_field=self.id_field or None)

    def describe(self) -> dict[str, Any]:
        """Parameters worth logging at the start of a run: the ones that are set."""
        return {key: value for key, value in self.model_dump().items() if not self._unset(key, value)}


class Evaluate(SettingsOverrides):
    """Score retrieval on a labelled BEIR-format set (nDCG@10, recall@10/100, MRR@10); optionally gate on a floor."""

    dataset: str = Field(
        "examples/eval", description="Folder of a labelled set: corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv."
    )
    floor: dict[str, float] = Field(
        default_factory=dict,
        description='Quality gate, e.g. {"ndcg@10": 0.6}: a fresh table is embedded and evaluated, and it replaces '
        "the serving one only when every metric reaches its floor; otherwise the run fails and nothing changes. "
        "Empty: no gate.",
    )
    exact: bool = Field(False, description="Exact search instead of the ANN index.")
    split: str = Field("test", description="Which qrels/<split>.tsv holds the judgements.")
    k: int = Field(100, ge=100, le=1000, description="Documents retrieved per query (recall@100 needs 100).")
    long_text: Literal["truncate", "chunk"] = Field(
        "truncate",
        description="Documents over the model's limit: truncate (one vector from their first tokens, as published "
        "figures are made) or chunk (the pipeline's token-aware chunks; a document scores as its best chunk).",
    )
    table: str = Field(
        "", description="Table or collection the labelled corpus is embedded into; empty: eval_<dataset>."
    )
    reference: dict[str, float] = Field(
        default_factory=dict,
        description="Published figures to compare with; empty: the known ones (SciFact, all-MiniLM-L6-v2).",
    )
    models: list[str] = Field(
        default_factory=list,
        description="Models to compare, each MODEL or MODEL:DIMENSIONS (e.g. all-MiniLM-L6-v2:256): the set is "
        "embedded once per model into its own table and scored, one row each. Empty: the configured model alone.",
    )

    @field_validator("floor", "reference")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        return known_metrics(value)

    @field_validator("models")
    @classmethod
    def _model_choices(cls, value: list[str]) -> list[str]:
        from vectorsync.errors import ConfigError
        from vectorsync.evaluation.comparison import parse_model_choice, require_distinct

        try:
            require_distinct([parse_model_choice(text) for text in value])
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _one_gated_model(self) -> Evaluate:
        if self.floor and self.models:
            raise ValueError(
                "a floor gates one model's table; compare models without it, or gate a model change with "
                "vectorsync migrate --eval"
            )
        return self


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
    query: str = Field(
        "", description="A question to try on the index at the end; empty: a stored vector must find its own document."
    )
    update_index: bool = Field(
        False, description="Rebuild an existing index whose definition (e.g. dimensions) differs, instead of stopping."
    )
    top_k: int = Field(3, ge=1, le=50, description="How many hits the test question shows.")
    filter_fields: list[str] = Field(
        default_factory=list,
        description="Fields that search filters may use (of the chunk documents in chunk mode); added to the index.",
    )
    documents_per_batch: int = Field(
        256, ge=1, le=10_000, description="Documents read, embedded and written back per task; a crash redoes one."
    )
    index_name: str = Field("", description="Vector search index name; empty: VECTORSYNC_INDEX_NAME (vector_index).")
    vector_format: Literal["configured", "float32", "array", "int8", "packed_bit"] = Field(
        CONFIGURED,
        description="How vectors are stored: BSON binary vectors (float32, int8, packed_bit) or plain arrays; "
        "configured: VECTORSYNC_VECTOR_FORMAT (float32).",
    )
    similarity: Literal["configured", "cosine", "euclidean", "dotProduct"] = Field(
        CONFIGURED, description="Vector similarity of the index; configured: VECTORSYNC_SIMILARITY (cosine)."
    )

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


class MigrateModel(SettingsOverrides):
    """Change the model of a table without downtime: the new model's vectors are built beside the serving ones,
    optionally gated on a labelled set, then switched in; the old vectors stay until finish or rollback."""

    action: Literal["start", "finish", "rollback"] = Field(
        "start",
        description="start: build, evaluate and switch; finish: drop the vectors the switch replaced; rollback: "
        "serve the old vectors again and drop the new ones.",
    )
    path: str = Field("examples/docs", description="Files to embed with the new model (what the table was made from).")
    new_model: str = Field("", description="The model to migrate to: an id or a local path (needed to start).")
    new_dimensions: int = Field(
        0, ge=0, description="Matryoshka dimensions to cut the new model's vectors to; 0: native."
    )
    eval_dataset: str = Field(
        "", description="A labelled BEIR-format folder that scores the old and new models; empty: no evaluation."
    )
    floor: dict[str, float] = Field(
        default_factory=dict,
        description='What the new model must reach on eval_dataset to be switched in, e.g. {"ndcg@10": 0.6}; '
        "below it the new vectors are dropped and the old ones serve on.",
    )
    text_field: str = Field("text", description="Field holding the text in JSONL, CSV and Parquet records.")
    id_field: str = Field("", description="Field holding a stable record id; empty: the line or row number.")

    @field_validator("floor")
    @classmethod
    def _known_metrics(cls, value: dict[str, float]) -> dict[str, float]:
        return known_metrics(value)

    @model_validator(mode="after")
    def _floor_needs_a_dataset(self) -> MigrateModel:
        if self.floor and not self.eval_dataset:
            raise ValueError("a floor needs eval_dataset, the labelled set that scores the new model")
        return self
