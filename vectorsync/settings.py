"""All configuration in one object: `VECTORSYNC_*` variables, an optional TOML file, then defaults.

Nothing else in vectorsync reads `os.environ`. Secrets are `SecretStr`, so they never print.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vectorsync.redaction import redact

EmbedderKind = Literal["sentence-transformers", "openai"]
StoreKind = Literal["auto", "lancedb", "mongodb"]

DEFAULT_MODELS: dict[str, str] = {
    "sentence-transformers": "sentence-transformers/all-MiniLM-L6-v2",
    "openai": "text-embedding-3-small",
}


def _config_file() -> Path:
    return Path(os.environ.get("VECTORSYNC_CONFIG", "vectorsync.toml"))


class Settings(BaseSettings):
    """Every knob of vectorsync, with the default that works offline on the embedded store."""

    model_config = SettingsConfigDict(env_prefix="VECTORSYNC_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path(".vectorsync"), description="Where the embedded store and caches live.")
    embedder: EmbedderKind = Field("sentence-transformers", description="Which embedder runs the model.")
    model: str | None = Field(None, description="Model id or local path; the embedder's default when unset.")
    device: str | None = Field(None, description="torch device for sentence-transformers (cpu, cuda, mps).")
    backend: Literal["auto", "torch", "onnx"] = Field(
        "auto",
        description="sentence-transformers runtime: auto is ONNX int8 on CPUs with AVX2/AVX512-VNNI (when "
        "onnxruntime is installed), else torch; torch opts out.",
    )
    batch_size: int = Field(64, ge=1, le=2048, description="Texts per model call.")
    task_batch_size: int = Field(
        1024, ge=1, description="Chunks per Prefect embedding task, and records per window a run reads ahead."
    )
    normalize: bool = Field(True, description="L2-normalise vectors (cosine = dot product).")
    dimensions: int | None = Field(None, ge=1, description="Requested output dimensions (OpenAI v3, Matryoshka).")
    query_prompt: str | None = Field(
        None, description="Text put before every query; unset: the model's own configured query prompt, if any."
    )
    document_prompt: str | None = Field(
        None, description="Text put before every document chunk; unset: the model's own document prompt, if any."
    )
    trust_remote_code: bool = Field(
        False, description="Let a sentence-transformers model run its repository's own Python code (with a warning)."
    )
    chunk_tokens: int | None = Field(None, ge=8, description="Tokens per chunk; the model's maximum when unset.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks.")

    store: StoreKind = Field("auto", description="auto: MongoDB when MONGODB_URI is set, else LanceDB.")
    mongodb_uri: SecretStr | None = Field(None, validation_alias=AliasChoices("MONGODB_URI", "VECTORSYNC_MONGODB_URI"))
    mongodb_database: str = Field("vectorsync", description="Database of the chunks collection.")
    mongodb_collection: str = Field("chunks", description="Collection that holds chunks and vectors.")
    vector_format: Literal["float32", "array", "int8", "packed_bit"] = Field(
        "float32", description="How vectors are stored in MongoDB: BSON binary vectors or plain arrays."
    )
    int8_scheme: Literal["per_vector", "calibrated"] = Field(
        "per_vector",
        description="How vector_format int8 quantises: per_vector scales each vector by its own largest component; "
        "calibrated uses per-dimension ranges from the collection's first vectors (sentence-transformers' int8).",
    )
    table: str = Field("chunks", description="LanceDB table name.")
    index_name: str = Field("vector_index", description="Name of the vector search index.")
    similarity: Literal["cosine", "euclidean", "dotProduct"] = "cosine"
    filter_fields: list[str] = Field(
        default_factory=lambda: ["source", "metadata.type"],
        description="Fields that search filters may use (Atlas requires them in the index).",
    )
    index_timeout_s: float = Field(300.0, gt=0, description="How long to wait for the index to be queryable.")

    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "VECTORSYNC_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "VECTORSYNC_OPENAI_BASE_URL")
    )
    openai_requests_per_minute: int | None = Field(None, ge=1, description="Client-side request budget.")
    openai_tokens_per_minute: int | None = Field(
        None, ge=1, description="Client-side token budget, shared by every run of one Prefect server."
    )
    openai_concurrent_requests: int = Field(
        4, ge=1, le=64, description="Embeddings requests in flight at once, each within the rate limits."
    )
    openai_max_tokens: int | None = Field(None, ge=8, description="Input limit of a model OpenAI does not list.")
    openai_timeout_s: float = Field(60.0, gt=0, description="Seconds before an embeddings request times out.")
    openai_api_key_block: str | None = Field(None, description="Prefect Secret block holding the OpenAI key.")
    mongodb_uri_block: str | None = Field(None, description="Prefect Secret block holding MONGODB_URI.")

    @field_validator("filter_fields", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _not_blank(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must name a folder, not be empty")
        return value

    @field_validator("data_dir")
    @classmethod
    def _resolved(cls, value: Path) -> Path:
        """The data dir as one absolute path however it is spelled (`dataB`, `sub/../dataB`, a link to it).

        Locks and store identities derive from it, so two spellings of one folder are one target.
        """
        try:
            return value.expanduser().resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop, before Python 3.13
            raise ValueError(f"cannot resolve the path ({exc})") from None

    @field_validator("table", "index_name", "mongodb_database", "mongodb_collection")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("index_timeout_s", "openai_timeout_s")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml, file_secret_settings)

    @property
    def model_name(self) -> str:
        """The model id in force: the setting, or the chosen embedder's default."""
        return self.model or DEFAULT_MODELS[self.embedder]

    @property
    def store_kind(self) -> Literal["lancedb", "mongodb"]:
        """The store in force once `auto` is resolved."""
        if self.store == "auto":
            return "mongodb" if self.mongodb_uri else "lancedb"
        return self.store

    @staticmethod
    def origin(name: str) -> str:
        """Where a user sets the field `name`: the environment variable that holds it, else its key in the TOML file.

        Error messages name it, so a person knows what to change (`VECTORSYNC_CHUNK_TOKENS`).
        """
        field = Settings.model_fields.get(name)
        alias = field.validation_alias if field else None
        names = [str(choice) for choice in alias.choices] if isinstance(alias, AliasChoices) else []
        names = names or [f"VECTORSYNC_{name.upper()}"]
        present = {key.upper() for key in os.environ}
        for variable in names:
            if variable.upper() in present:
                return variable
        config = _config_file()
        return f"{name} in {config}" if config.is_file() else names[0]

    def describe_store(self) -> str:
        """Where vectors go, safe to print."""
        if self.store_kind == "mongodb":
            uri = self.mongodb_uri.get_secret_value() if self.mongodb_uri else ""
            return f"mongodb {redact(uri)} {self.mongodb_database}.{self.mongodb_collection}"
        return f"lancedb {self.data_dir / 'lancedb'} table {self.table}"
