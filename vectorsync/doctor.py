"""Troubleshooting, automated: each check is a small function that returns a `Check`, fine or with its fix.

`vectorsync doctor` prints them in order; checks that need the store are skipped when it is unreachable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata

import httpx
from packaging.requirements import InvalidRequirement, Requirement

from vectorsync.consistency import check_dimensions
from vectorsync.embedders import shared_embedder
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder
from vectorsync.errors import DimensionMismatch, VectorsyncError
from vectorsync.settings import Settings
from vectorsync.stores import shared_store

KEY_PACKAGES = (
    "vectorsync",
    "prefect",
    "prefect-dask",
    "sentence-transformers",
    "transformers",
    "torch",
    "lancedb",
    "pyarrow",
    "pymongo",
    "openai",
    "pydantic",
    "pydantic-settings",
    "numpy",
)
# torch, its allocator and the tokenizer, measured at about 500 MiB before any weights or batch.
RUNTIME_OVERHEAD = 500 * 2**20
MIB = 2**20


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, whether it is fine, what was found, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def installed_version(name: str) -> str | None:
    """The installed version of distribution `name`, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def unmet_requirements(
    requirements: Iterable[str], version_of: Callable[[str], str | None] = installed_version
) -> list[str]:
    """The requirements (PEP 508 strings) that the installed packages do not satisfy, each with what is there."""
    unmet = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        found = version_of(requirement.name)
        if found is None:
            unmet.append(f"{requirement} (not installed)")
        elif not requirement.specifier.contains(found, prereleases=True):
            unmet.append(f"{requirement} (installed {found})")
    return unmet


def package_versions(packages: Iterable[str] = KEY_PACKAGES) -> Check:
    """Versions of the packages vectorsync leans on, and any of their requirements the environment breaks."""
    found: list[str] = []
    conflicts: list[str] = []
    for name in packages:
        version = installed_version(name)
        if version is None:
            continue
        found.append(f"{name} {version}")
        needs = unmet_requirements(metadata.requires(name) or [])
        conflicts += [f"{name} needs {need}" for need in needs]
    if conflicts:
        return Check("packages", False, "; ".join(conflicts), "pip install -e '.[dev]' to resolve them together")
    return Check("packages", True, ", ".join(found))


def model_load(settings: Settings) -> Check:
    """Load the configured model and embed one text, as the first batch of a run would."""
    embedder = shared_embedder(settings)
    started = time.perf_counter()
    try:
        vector = embedder.encode_queries(["vectorsync doctor"])[0]
        dimensions = embedder.dimensions
    except VectorsyncError as exc:
        return Check("model", False, str(exc), _model_fix(settings))
    if len(vector) != dimensions:
        return Check(
            "model",
            False,
            f"{settings.model_name} returned {len(vector)} dimensions but reports {dimensions}",
            "set VECTORSYNC_DIMENSIONS to what the model really produces, or unset it",
        )
    seconds = time.perf_counter() - started
    return Check("model", True, f"{settings.model_name}: {dimensions} dimensions, first vector in {seconds:.1f} s")


def _model_fix(settings: Settings) -> str:
    if settings.embedder == "openai":
        return "check OPENAI_API_KEY (and OPENAI_BASE_URL for other providers), or use a local model"
    return (
        "set VECTORSYNC_MODEL to a cached model id or a local path; offline, the bundled "
        "sentence-transformers/all-MiniLM-L6-v2 always loads"
    )


def store_reachable(settings: Settings) -> Check:
    """Open the configured store and say how many chunks it holds, without reading them.

    The count is the store's cheap one: MongoDB's estimate from collection metadata, LanceDB's row count. Listing
    documents would read every chunk (`vectorsync info` does that), which doctor must not do on a big collection.
    """
    try:
        store = shared_store(settings)
        chunks = store.count()
    except VectorsyncError as exc:
        if settings.store_kind == "mongodb":
            fix = "check MONGODB_URI, that the cluster runs, and that this machine's IP is on Atlas's access list"
        else:
            fix = f"check that {settings.data_dir} is writable, or point VECTORSYNC_DATA_DIR elsewhere"
        return Check("store", False, str(exc), fix)
    about = "about " if store.kind == "mongodb" else ""
    return Check("store", True, f"{store.describe()}: {about}{chunks} chunks")


def index_state(settings: Settings) -> Check:
    """The vector index's state and definition: queryable, or absent only while the store is empty."""
    store = shared_store(settings)
    status = store.index_status(settings.index_name)
    run = "run `vectorsync run PATH` once: every run ensures the index"
    if status.queryable:
        definition = json.dumps(status.definition, sort_keys=True, default=str)
        detail = f"{status.name} {status.state}, {status.dimensions} dimensions: {definition}"
        if status.state == "STALE":
            return Check(
                "index",
                True,
                f"{detail}; it serves, but stopped replicating writes, so searches may miss recent changes",
                "check the cluster's disk space and search nodes in Atlas; the index catches up once they recover",
            )
        return Check("index", True, detail)
    if status.state == "ABSENT":
        if store.count() == 0:
            return Check("index", True, f"{status.name}: none yet, the store is empty (the first run creates it)")
        return Check("index", False, f"{status.name} is missing on {store.describe()}", run)
    fixes = {
        "FAILED": "Atlas shows the server's reason on the index; fix it, then `vectorsync run PATH --update-index`",
        "DELETING": "wait until it is gone, or `vectorsync run PATH --update-index` to wait and create it anew",
    }
    return Check(
        "index",
        False,
        f"{status.name} is {status.state}, not queryable",
        fixes.get(status.state, f"wait while it builds (Atlas shows progress), or {run} to rebuild it"),
    )


def dimension_consistency(settings: Settings) -> Check:
    """Model, index and stored vectors agree on the number of dimensions."""
    embedder = shared_embedder(settings)
    store = shared_store(settings)
    index = store.index_status(settings.index_name).dimensions
    detail = f"model {embedder.dimensions}, index {index or '-'}, stored vectors {store.stored_dimensions() or '-'}"
    try:
        check_dimensions(embedder.model_id, embedder.dimensions, store, settings.index_name)
    except DimensionMismatch as exc:
        return Check(
            "dimensions",
            False,
            f"{detail}: {exc}",
            "use the model the vectors were made with (VECTORSYNC_MODEL, VECTORSYNC_DIMENSIONS), "
            "or a new data directory or collection for the new model",
        )
    return Check("dimensions", True, detail)


def stored_models(settings: Settings) -> Check:
    """The stored vectors come from the configured embedder, so queries and documents share one space."""
    identity = shared_embedder(settings).identity
    others = sorted(shared_store(settings).stored_models() - {identity})
    if others:
        return Check(
            "stored models",
            False,
            f"vectors from {', '.join(others)} are stored next to those of {identity}",
            "re-embed with `vectorsync run PATH --refresh`, or configure the model they were made with",
        )
    return Check("stored models", True, identity)


def prefect_api(url: str | None, api_key: str | None = None, timeout_s: float = 5.0) -> Check:
    """The Prefect API that `PREFECT_API_URL` names answers its health check."""
    start = "start one with `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api"
    if not url:
        return Check(
            "prefect api",
            True,
            "PREFECT_API_URL is not set: `vectorsync run` uses a temporary API; serve and deploy need a server",
        )
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return Check("prefect api", False, f"{url} does not answer: {exc}", start)
    if response.status_code != 200:
        fix = "check PREFECT_API_KEY (`prefect cloud login`)" if response.status_code in (401, 403) else start
        return Check("prefect api", False, f"{url}/health answered HTTP {response.status_code}", fix)
    version = response.headers.get("x-prefect-api-version", "")
    return Check("prefect api", True, f"{url} is healthy" + (f" (API {version})" if version else ""))


def memory_headroom(settings: Settings, available: int | None = None) -> Check:
    """The model and one batch of `batch_size` full-length chunks fit in the memory that is free."""
    embedder = shared_embedder(settings)
    if not isinstance(embedder, SentenceTransformerEmbedder):
        return Check("memory", True, "remote model: a batch needs no local model memory")
    if available is None:
        import psutil

        available = psutil.virtual_memory().available
    tokens = min(settings.chunk_tokens or embedder.max_tokens, embedder.max_tokens)
    try:
        weights, per_text = transformer_memory(embedder, tokens)
    except (OSError, ValueError) as exc:
        return Check("memory", True, f"not estimated: the model's config is unreadable ({exc})")
    needed = RUNTIME_OVERHEAD + weights + settings.batch_size * per_text
    detail = (
        f"batch_size {settings.batch_size} x {tokens} tokens needs about {needed // MIB} MiB; "
        f"{available // MIB} MiB available"
    )
    if needed <= 0.8 * available:
        return Check("memory", True, detail)
    fits = int((0.8 * available - RUNTIME_OVERHEAD - weights) // per_text)
    if fits < 1:
        return Check("memory", False, detail, "free memory, or use a smaller model or the openai embedder")
    return Check("memory", False, detail, f"set VECTORSYNC_BATCH_SIZE={fits} or lower (or VECTORSYNC_CHUNK_TOKENS)")


def transformer_memory(embedder: SentenceTransformerEmbedder, tokens: int) -> tuple[int, int]:
    """Bytes of a transformer's float32 weights, and the peak activation bytes of one text of `tokens` tokens.

    Per text and layer: hidden states, query/key/value/output, the feed-forward expansion and the attention
    scores; it matches the measured peak of all-MiniLM-L6-v2 within about 10%.
    """
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(embedder.path)
    hidden, inner, heads = config.hidden_size, config.intermediate_size, config.num_attention_heads
    parameters = config.vocab_size * hidden + config.num_hidden_layers * (4 * hidden * hidden + 2 * hidden * inner)
    per_text = 4 * tokens * (6 * hidden + inner + heads * tokens)
    return 4 * parameters, per_text


def run_checks(settings: Settings, prefect_url: str | None = None, prefect_key: str | None = None) -> Iterator[Check]:
    """Every check in order, each yielded as soon as it is done; store-bound checks need a reachable store."""
    yield package_versions()
    model = model_load(settings)
    yield model
    store = store_reachable(settings)
    yield store
    if store.ok:
        yield index_state(settings)
        if model.ok:
            yield dimension_consistency(settings)
            yield stored_models(settings)
    else:
        yield Check("index", False, "not checked: the store is unreachable", store.fix)
    yield prefect_api(prefect_url, prefect_key)
    if model.ok:
        yield memory_headroom(settings)
