"""Models used as trained: query and document prompts, and a model's own code, with the real bundled model.

A model folder of the bundled weights with other configs stands in for the e5/bge/nomic families: the same
files a Hugging Face repository holds, read offline.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

import vectorsync.embedders as embedders
from flows.embed_new_data import embed_new_data
from vectorsync.chunking import chunker_for
from vectorsync.embedders import shared_embedder
from vectorsync.embedders.onnx_export import onnx_available
from vectorsync.embedders.sentence_transformer import SentenceTransformerEmbedder, resolve_model_path
from vectorsync.errors import ConfigError
from vectorsync.evaluation.run import retrieve
from vectorsync.jobs import EmbedNewData
from vectorsync.records import Record
from vectorsync.search import search_text
from vectorsync.settings import Settings
from vectorsync.stores import open_store

BUNDLED = Path(resolve_model_path("sentence-transformers/all-MiniLM-L6-v2"))


@pytest.fixture(scope="module")
def model() -> SentenceTransformer:
    """sentence-transformers itself, the reference every stored vector is checked against."""
    return SentenceTransformer(str(BUNDLED), device="cpu")


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget loaded models, as a new process would."""
    monkeypatch.setattr(embedders, "_shared", {})


def model_folder(root: Path, **configs: object) -> Path:
    """The bundled model's files (linked, not copied), with `configs` written over them as JSON (name -> content)."""
    root.mkdir()
    for item in BUNDLED.iterdir():
        if item.name not in configs:
            (root / item.name).symlink_to(item)
    for name, content in configs.items():
        (root / name).write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return root


def stored_chunks(settings: Settings) -> dict[str, tuple[str, np.ndarray]]:
    """Chunk id -> (text, stored vector) of everything in the store."""
    with open_store(settings) as store:
        probe = np.ones(384, dtype=np.float32) / np.sqrt(384)
        hits = store.search(probe, k=100, exact=True)
        return {hit.id: (hit.text, store.get_vector(hit.id)) for hit in hits}


# --- the pipeline: stored vectors, queries, re-runs -----------------------------------------------------------------


@pytest.mark.usefixtures("prefect_harness", "fresh_process")
def test_stored_vectors_are_the_models_vectors_of_the_document_prompt_and_text(data_dir, corpus, model, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_DOCUMENT_PROMPT", "passage: ")
    summary = embed_new_data(EmbedNewData(path=str(corpus)))
    assert summary["embedded"] == 4
    chunks = stored_chunks(Settings())
    texts = [text for text, _ in chunks.values()]
    expected = model.encode(["passage: " + text for text in texts], normalize_embeddings=True)
    plain = model.encode(texts, normalize_embeddings=True)
    for (_, stored), wanted, unprompted in zip(chunks.values(), expected, plain, strict=True):
        np.testing.assert_allclose(stored, wanted, atol=1e-5)
        assert not np.allclose(stored, unprompted, atol=1e-3)


@pytest.mark.usefixtures("prefect_harness", "fresh_process")
def test_a_search_embeds_its_query_behind_the_query_prompt(data_dir, corpus, model, monkeypatch):
    embed_new_data(EmbedNewData(path=str(corpus)))
    monkeypatch.setenv("VECTORSYNC_QUERY_PROMPT", "query: ")
    settings = Settings()
    query = "insects that make honey"
    with open_store(settings) as store:
        hits = search_text(store, shared_embedder(settings), query, k=4)
        prompted = store.search(model.encode("query: " + query, normalize_embeddings=True), k=4)
        plain = store.search(model.encode(query, normalize_embeddings=True), k=4)
    assert [hit.score for hit in hits] == pytest.approx([hit.score for hit in prompted], abs=1e-5)
    assert [hit.score for hit in hits] != pytest.approx([hit.score for hit in plain], abs=1e-5)


@pytest.mark.usefixtures("prefect_harness", "fresh_process")
def test_a_rerun_with_the_same_prompt_embeds_nothing_and_loads_no_model(data_dir, corpus, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_DOCUMENT_PROMPT", "passage: ")
    monkeypatch.setenv("VECTORSYNC_QUERY_PROMPT", "query: ")
    first = embed_new_data(EmbedNewData(path=str(corpus)))
    embedders._shared.clear()
    again = embed_new_data(EmbedNewData(path=str(corpus)))
    assert again["embedded"] == 0 and again["unchanged"] == first["chunks"] == 4
    assert again["model_loaded"] is False


@pytest.mark.usefixtures("prefect_harness", "fresh_process")
def test_a_changed_document_prompt_re_embeds_every_chunk(data_dir, corpus, model, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_DOCUMENT_PROMPT", "passage: ")
    embed_new_data(EmbedNewData(path=str(corpus)))
    monkeypatch.setenv("VECTORSYNC_DOCUMENT_PROMPT", "search_document: ")
    again = embed_new_data(EmbedNewData(path=str(corpus)))
    assert again["embedded"] == 4 and again["unchanged"] == 0
    for text, stored in stored_chunks(Settings()).values():
        np.testing.assert_allclose(
            stored, model.encode("search_document: " + text, normalize_embeddings=True), atol=1e-5
        )


def test_eval_embeds_its_queries_behind_the_query_prompt(data_dir, embedder, model):
    prompted = SentenceTransformerEmbedder(query_prompt="query: ")
    texts = {"bees": "Honey bees live in colonies.", "holes": "A black hole lets nothing escape."}
    records = [
        Record(id=name, source=f"{name}.txt", text=text, metadata={"corpus_id": name}) for name, text in texts.items()
    ]
    chunks = [chunk for record in records for chunk in chunker_for(prompted).chunk(record)]
    query = "insects that make honey"
    with open_store(Settings()) as store:
        store.upsert(chunks, prompted.encode_documents([chunk.text for chunk in chunks]), prompted.identity)
        run = retrieve(store, prompted, {"q": query}, k=2, exact=True).run["q"]
        reference = store.search(model.encode("query: " + query, normalize_embeddings=True), k=2, exact=True)
    assert run == pytest.approx({hit.metadata["corpus_id"]: hit.score for hit in reference}, abs=1e-5)


@pytest.mark.skipif(not onnx_available(), reason="onnxruntime and onnx are not installed")
def test_the_int8_onnx_backend_embeds_behind_the_same_prompts(tmp_path, model):
    int8 = SentenceTransformerEmbedder(
        backend="onnx", onnx_cache=tmp_path, query_prompt="query: ", document_prompt="passage: "
    )
    text = "Honey bees live in colonies with one queen and thousands of workers."
    for got, prompted in ((int8.encode_documents([text])[0], "passage: "), (int8.encode_queries([text])[0], "query: ")):
        wanted, plain = model.encode([prompted + text, text], normalize_embeddings=True)
        assert float(got @ wanted) > 0.99 and float(got @ wanted) > float(got @ plain) + 0.005


# --- the embedder: defaults from the model, identity, token budget --------------------------------------------------


def test_the_models_configured_prompts_are_the_default_as_in_sentence_transformers(tmp_path):
    config = {"prompts": {"query": "query: ", "document": "passage: "}, "default_prompt_name": None}
    folder = model_folder(tmp_path / "e5-like", **{"config_sentence_transformers.json": config})
    embedder = SentenceTransformerEmbedder(str(folder))
    assert (embedder.query_prompt, embedder.document_prompt) == ("query: ", "passage: ")
    reference = SentenceTransformer(str(folder), device="cpu")
    texts = ["Honey bees live in colonies.", "A black hole lets nothing escape."]
    np.testing.assert_allclose(
        embedder.encode_queries(texts), reference.encode_query(texts, normalize_embeddings=True), atol=1e-5
    )
    np.testing.assert_allclose(
        embedder.encode_documents(texts), reference.encode_document(texts, normalize_embeddings=True), atol=1e-5
    )


def test_a_passage_prompt_is_the_document_prompt_and_a_default_prompt_applies_to_both(tmp_path):
    passage = {"prompts": {"query": "query: ", "passage": "passage: "}}
    e5 = SentenceTransformerEmbedder(
        str(model_folder(tmp_path / "e5", **{"config_sentence_transformers.json": passage}))
    )
    assert (e5.query_prompt, e5.document_prompt) == ("query: ", "passage: ")
    default = {"prompts": {"retrieval": "Represent this: "}, "default_prompt_name": "retrieval"}
    one = SentenceTransformerEmbedder(
        str(model_folder(tmp_path / "one", **{"config_sentence_transformers.json": default}))
    )
    assert (one.query_prompt, one.document_prompt) == ("Represent this: ", "Represent this: ")


def test_an_empty_prompt_setting_turns_the_models_prompt_off(tmp_path):
    config = {"prompts": {"query": "query: ", "document": "passage: "}}
    folder = model_folder(tmp_path / "e5-like", **{"config_sentence_transformers.json": config})
    embedder = SentenceTransformerEmbedder(str(folder), query_prompt="", document_prompt="")
    assert (embedder.query_prompt, embedder.document_prompt) == ("", "")
    assert "document_prompt" not in embedder.identity


def test_a_model_without_prompts_keeps_the_identity_stores_already_hold(embedder):
    assert (embedder.query_prompt, embedder.document_prompt) == ("", "")
    assert embedder.identity == (
        "sentence-transformers:sentence-transformers/all-MiniLM-L6-v2@default:dims=native:normalize=True"
        ":precision=float32:backend=torch"
    )
    prompted = SentenceTransformerEmbedder(document_prompt="passage: ")
    assert prompted.identity == embedder.identity + ':document_prompt="passage: "'


def test_prompts_and_remote_code_are_part_of_the_shared_embedders_key(data_dir):
    plain = shared_embedder(Settings())
    assert shared_embedder(Settings()) is plain
    for changed in ({"document_prompt": "passage: "}, {"query_prompt": "query: "}, {"trust_remote_code": True}):
        assert shared_embedder(Settings(**changed)) is not plain, changed


def test_no_prompted_chunk_exceeds_the_models_token_limit(embedder):
    prompt = "Represent this scientific abstract for retrieving supporting claims: "
    prompted = SentenceTransformerEmbedder(document_prompt=prompt)
    prompt_tokens = embedder.count_tokens(prompt)
    assert prompt_tokens > 5 and prompted.document_tokens == embedder.max_tokens - prompt_tokens
    text = " ".join(f"Sentence {n} says something about bees and their hives." for n in range(300))
    chunks = list(chunker_for(prompted, overlap=16).chunk(Record(id="long", source="long.txt", text=text)))
    counts = [prompted.count_tokens(prompt + chunk.text) for chunk in chunks]
    assert len(chunks) > 3 and max(counts) <= prompted.max_tokens
    # Without the prompt's share the same text fills chunks to the limit, so prompted they would overflow.
    plain = list(chunker_for(embedder, overlap=16).chunk(Record(id="long", source="long.txt", text=text)))
    assert max(embedder.count_tokens(prompt + chunk.text) for chunk in plain) > embedder.max_tokens


# --- a model's own code ---------------------------------------------------------------------------------------------

CUSTOM_CODE = '''
from transformers import BertModel


class MarkedBertModel(BertModel):
    """BERT loaded through the repository's own code."""
'''


def remote_code_folder(tmp_path: Path) -> Path:
    config = json.loads((BUNDLED / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModel": "marked_bert.MarkedBertModel"}
    return model_folder(tmp_path / "custom-code", **{"config.json": config, "marked_bert.py": CUSTOM_CODE})


def test_trust_remote_code_loads_the_models_own_code_with_a_warning(tmp_path, caplog):
    folder = remote_code_folder(tmp_path)
    trusted = SentenceTransformerEmbedder(str(folder), trust_remote_code=True, backend="auto", device="cpu")
    with caplog.at_level(logging.WARNING, logger="vectorsync.embedders.sentence_transformer"):
        vectors = trusted.encode(["Honey bees live in colonies."])
    assert type(trusted._load()[0].auto_model).__name__ == "MarkedBertModel"  # type: ignore[index]
    assert trusted.backend == "torch" and vectors.shape == (1, 384)
    assert any("trust_remote_code is on" in record.getMessage() for record in caplog.records)


def test_without_trust_remote_code_the_models_own_code_never_runs(tmp_path, caplog):
    plain = SentenceTransformerEmbedder(str(remote_code_folder(tmp_path)), device="cpu")
    with caplog.at_level(logging.WARNING, logger="vectorsync.embedders.sentence_transformer"):
        plain.encode(["Honey bees live in colonies."])
    assert type(plain._load()[0].auto_model).__name__ == "BertModel"  # type: ignore[index]
    assert not any("trust_remote_code" in record.getMessage() for record in caplog.records)


def test_remote_code_on_the_int8_onnx_backend_is_refused_naming_the_settings():
    with pytest.raises(ConfigError, match=r"VECTORSYNC_TRUST_REMOTE_CODE.*VECTORSYNC_BACKEND=torch"):
        SentenceTransformerEmbedder(trust_remote_code=True, backend="onnx")


def test_settings_read_the_prompt_and_remote_code_variables(data_dir, monkeypatch):
    assert (Settings().query_prompt, Settings().document_prompt, Settings().trust_remote_code) == (None, None, False)
    monkeypatch.setenv("VECTORSYNC_QUERY_PROMPT", "search_query: ")
    monkeypatch.setenv("VECTORSYNC_DOCUMENT_PROMPT", "")
    monkeypatch.setenv("VECTORSYNC_TRUST_REMOTE_CODE", "true")
    settings = Settings()
    assert (settings.query_prompt, settings.document_prompt, settings.trust_remote_code) == ("search_query: ", "", True)
