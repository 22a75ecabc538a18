"""Retrieval evaluation: trec_eval metrics checked by hand, BEIR loading, the evaluate flow and its quality gate."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from pathlib import Path

import lancedb
import pytest
from typer.testing import CliRunner

from vectorsync.errors import InputError, QualityGateFailed
from vectorsync.evaluation.beir import load_corpus, load_dataset
from vectorsync.evaluation.corpus import whole_record_chunks
from vectorsync.evaluation.metrics import score_run, top_ranked
from vectorsync.evaluation.run import best_per_document
from vectorsync.records import Hit, Record

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "eval"


def write_dataset(root: Path, corpus: list[str], queries: list[str], qrels: list[str], split: str = "test") -> Path:
    """A BEIR-format folder from raw lines, so malformed input can be written as it is."""
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(line + "\n" for line in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(line + "\n" for line in queries), encoding="utf-8")
    (root / "qrels" / f"{split}.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(line + "\n" for line in qrels), encoding="utf-8"
    )
    return root


# --- metrics -----------------------------------------------------------------------------------------------------


def test_metrics_match_values_computed_by_hand():
    qrels = {"a": {"d1": 1, "d2": 1}, "b": {"d3": 1}, "c": {"d4": 1}}
    run = {
        # a: relevant at ranks 2 and 4.
        #   DCG@10 = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161; ideal = 1 + 1/log2(3) = 1.63093
        #   nDCG@10 = 0.65092, recall@10 = recall@100 = 1, reciprocal rank = 1/2
        "a": {"x1": 0.9, "d1": 0.8, "x2": 0.7, "d2": 0.6, "x3": 0.5},
        # b: the one relevant document is 11th: nothing in the top 10, found within 100.
        #   MRR@10 = 0 (trec_eval's uncut reciprocal rank would say 1/11: the run is cut at 10 first, as in BEIR)
        "b": {**{f"y{i:02d}": 1.0 - i / 100 for i in range(10)}, "d3": 0.5},
        # c: judged but nothing retrieved; it still counts, as 0.
        "c": {},
    }
    scores = score_run(qrels, run)
    ndcg_a = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert scores["ndcg@10"] == pytest.approx(ndcg_a / 3)
    assert scores["recall@10"] == pytest.approx(1 / 3)
    assert scores["recall@100"] == pytest.approx(2 / 3)
    assert scores["mrr@10"] == pytest.approx(0.5 / 3)


def test_graded_relevance_counts_as_gain_in_ndcg():
    # ranks: d1 (gain 1) then d2 (gain 2): DCG = 1 + 2/log2(3) = 2.26186; ideal = 2 + 1/log2(3) = 2.63093
    scores = score_run({"q": {"d1": 1, "d2": 2}}, {"q": {"d1": 0.9, "d2": 0.8}})
    assert scores["ndcg@10"] == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_ties_are_ranked_like_trec_eval_by_descending_id():
    assert top_ranked({"a": 0.5, "c": 0.5, "b": 0.9}, 2) == [("b", 0.9), ("c", 0.5)]


def test_a_chunked_document_scores_as_its_best_chunk():
    def hit(doc: str, score: float) -> Hit:
        return Hit(f"{doc}-{score}", score, "t", "s", f"beir:x:{doc}", 0, {"corpus_id": doc})

    assert best_per_document([hit("d1", 0.4), hit("d2", 0.7), hit("d1", 0.9)]) == {"d1": 0.9, "d2": 0.7}


# --- BEIR loading --------------------------------------------------------------------------------------------------


def test_bundled_set_loads_with_every_judged_query():
    dataset = load_dataset(EXAMPLE)
    records = list(dataset.records())
    assert dataset.name == "eval" and len(records) == 18 and len(dataset.queries) == 12
    assert set(dataset.qrels) == set(dataset.queries)
    assert {doc for docs in dataset.qrels.values() for doc in docs} <= {r.metadata["corpus_id"] for r in records}


def test_documents_are_title_space_text_stripped_like_beir(tmp_path):
    root = write_dataset(
        tmp_path / "set",
        [
            json.dumps({"_id": "1", "title": " Padded title ", "text": "Body."}),
            json.dumps({"_id": "2", "title": "", "text": "No title."}),
            json.dumps({"_id": 3, "text": "Numeric id, no title field."}),
        ],
        [json.dumps({"_id": "q", "text": "query"})],
        ["q\t1\t1"],
    )
    records = list(load_dataset(root).records())
    assert [r.text for r in records] == ["Padded title  Body.", "No title.", "Numeric id, no title field."]
    assert [r.metadata["corpus_id"] for r in records] == ["1", "2", "3"]
    assert records[0].id == "beir:set:1"


def test_gzipped_corpus_gives_the_same_records(tmp_path):
    root = tmp_path / "gz"
    root.mkdir()
    (root / "corpus.jsonl.gz").write_bytes(gzip.compress((EXAMPLE / "corpus.jsonl").read_bytes()))
    (root / "queries.jsonl").write_bytes((EXAMPLE / "queries.jsonl").read_bytes())
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_bytes((EXAMPLE / "qrels" / "test.tsv").read_bytes())
    plain = [(r.metadata, r.text) for r in load_dataset(EXAMPLE).records()]
    assert [(r.metadata, r.text) for r in load_dataset(root).records()] == plain


def test_queries_without_judgements_in_the_split_are_left_out(tmp_path):
    queries = [json.dumps({"_id": q, "text": f"query {q}"}) for q in ("q1", "q2")]
    root = write_dataset(tmp_path / "set", [json.dumps({"_id": "d", "text": "x"})], queries, ["q2\td\t1"])
    assert load_dataset(root).queries == {"q2": "query q2"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"_id": "2", "text": ', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"title": "no id", "text": "x"}', "missing field '_id'"),
        ('{"_id": "2", "text": 42}', "field 'text' is not a string"),
        ('{"_id": "1", "text": "again"}', "duplicate _id '1'"),
    ],
)
def test_malformed_corpus_line_names_the_file_and_line(tmp_path, line, reason):
    corpus = [json.dumps({"_id": "1", "text": "fine"}), line]
    root = write_dataset(tmp_path / "set", corpus, [json.dumps({"_id": "q", "text": "x"})], ["q\t1\t1"])
    with pytest.raises(InputError, match=reason) as caught:
        list(load_dataset(root).records())
    assert caught.value.source.endswith("corpus.jsonl") and caught.value.location == "line 2"


def test_truncated_gzip_corpus_is_an_input_error(tmp_path):
    root = write_dataset(tmp_path / "set", [], [json.dumps({"_id": "q", "text": "x"})], ["q\t1\t1"])
    (root / "corpus.jsonl").unlink()
    (root / "corpus.jsonl.gz").write_bytes(gzip.compress((EXAMPLE / "corpus.jsonl").read_bytes())[:300])
    with pytest.raises(InputError, match="cannot read"):
        list(load_corpus(root / "corpus.jsonl.gz", "set"))


@pytest.mark.parametrize(
    ("qrels", "reason", "location"),
    [
        (["q\t1"], "expected 3 tab-separated columns, found 2", "line 2"),
        (["q\t1\tyes"], "score 'yes' is not an integer", "line 2"),
        (["other\t1\t1"], "1 judged queries are not in queries.jsonl", None),
    ],
)
def test_malformed_qrels_are_input_errors_naming_the_line(tmp_path, qrels, reason, location):
    root = write_dataset(
        tmp_path / "set", [json.dumps({"_id": "1", "text": "x"})], [json.dumps({"_id": "q", "text": "x"})], qrels
    )
    with pytest.raises(InputError, match=reason) as caught:
        load_dataset(root)
    assert caught.value.source.endswith("test.tsv") and caught.value.location == location


def test_missing_split_or_corpus_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no judgements for split 'dev'"):
        load_dataset(EXAMPLE, split="dev")
    with pytest.raises(InputError, match=r"no corpus\.jsonl or corpus\.jsonl\.gz"):
        load_dataset(tmp_path)


def test_truncate_mode_keeps_each_document_whole_as_one_chunk():
    records = [Record("a", "s", "long " * 600, {"corpus_id": "a"}), Record("b", "s", "   ", {})]
    chunks = whole_record_chunks(records, "identity")
    assert [(c.document, c.chunk_index, c.text) for c in chunks] == [("a", 0, "long " * 600)]


# --- the evaluate flow and its quality gate -----------------------------------------------------------------------


@pytest.fixture
def prefect(prefect_harness):
    """The session's Prefect API, imported only by the tests that run flows."""
    from flows.evaluate import evaluate
    from vectorsync.jobs import Evaluate

    return evaluate, Evaluate


def open_eval_store(data_dir: Path, table: str = "eval_eval"):
    from vectorsync.settings import Settings
    from vectorsync.stores import open_store

    return open_store(Settings(data_dir=data_dir, table=table))


def test_bundled_set_scores_high_and_exact_and_index_search_agree(data_dir, prefect):
    evaluate, Evaluate = prefect
    first = evaluate(Evaluate(dataset=str(EXAMPLE)))
    exact = evaluate(Evaluate(dataset=str(EXAMPLE), exact=True))
    for name in ("ndcg@10", "recall@10", "recall@100", "mrr@10"):
        assert 0.0 <= first[name] <= 1.0
        assert first[name] == pytest.approx(exact[name])
    assert first["ndcg@10"] > 0.8 and first["recall@100"] == 1.0
    assert first["queries"] == 12 and first["documents"] == 18 and first["embedded"] == 18
    assert exact["embedded"] == 0, "the second run reuses the stored vectors"
    with open_eval_store(data_dir) as store:
        assert store.count() == 18


def test_failed_quality_gate_fails_loudly_and_the_previous_table_serves(data_dir, prefect):
    evaluate, Evaluate = prefect
    evaluate(Evaluate(dataset=str(EXAMPLE)))
    with open_eval_store(data_dir) as store:
        before = (store.describe(), store.count(), [h.id for h in store.search(store.get_vector(_any_id(store)))])

    with pytest.raises(QualityGateFailed, match=r"ndcg@10 = 1\.0000 is below the floor 1\.01") as caught:
        evaluate(Evaluate(dataset=str(EXAMPLE), floor={"ndcg@10": 1.01}))
    assert (caught.value.metric, caught.value.floor, caught.value.value) == ("ndcg@10", 1.01, pytest.approx(1.0))
    assert "keeps serving the previous vectors" in str(caught.value)

    with open_eval_store(data_dir) as store:
        after = (store.describe(), store.count(), [h.id for h in store.search(store.get_vector(_any_id(store)))])
    assert after == before
    assert sorted(lancedb.connect(str(data_dir / "lancedb")).list_tables().tables) == ["eval_eval"], "candidate dropped"


def test_passing_quality_gate_swaps_in_the_fresh_table_and_keeps_one_previous(data_dir, prefect):
    from vectorsync.stores.active import serving_table

    evaluate, Evaluate = prefect
    root = data_dir / "lancedb"
    evaluate(Evaluate(dataset=str(EXAMPLE)))
    first = evaluate(Evaluate(dataset=str(EXAMPLE), floor={"ndcg@10": 0.0, "recall@100": 0.5}))
    fresh = serving_table(root, "eval_eval")
    assert first["promoted"] and fresh.startswith("eval_eval__") and first["table"] == fresh
    with open_eval_store(data_dir) as store:
        assert store.describe().endswith(fresh) and store.count() == 18
        assert store.search(store.get_vector(_any_id(store)), k=1)

    evaluate(Evaluate(dataset=str(EXAMPLE), floor={"ndcg@10": 0.0}))
    newest = serving_table(root, "eval_eval")
    assert newest != fresh
    assert sorted(lancedb.connect(str(root)).list_tables().tables) == sorted([fresh, newest]), (
        "older generation dropped"
    )


def test_a_long_document_cut_into_chunks_ranks_once_by_its_best_chunk(data_dir, prefect, tmp_path):
    evaluate, Evaluate = prefect
    filler = " ".join(f"Ship log entry {i}: the tide turned and the fog horn sounded twice." for i in range(60))
    corpus = [
        json.dumps({"_id": "long", "title": "Harbour log", "text": filler + " The keeper's cat was named Pixel."}),
        json.dumps({"_id": "bread", "text": "Sourdough rises with wild yeast kept in a starter."}),
        json.dumps({"_id": "chess", "text": "The Sicilian Defence answers 1.e4 with c5."}),
    ]
    queries = [json.dumps({"_id": "q", "text": "what was the name of the keeper's cat"})]
    root = write_dataset(tmp_path / "harbour", corpus, queries, ["q\tlong\t1"])
    result = evaluate(Evaluate(dataset=str(root), long_text="chunk"))
    assert result["documents"] == 3 and result["chunks"] > 3
    assert result["mrr@10"] == 1.0 and result["recall@10"] == 1.0


def test_unknown_floor_metric_is_refused_before_any_work():
    from pydantic import ValidationError

    from vectorsync.jobs import Evaluate

    with pytest.raises(ValidationError, match="unknown metric 'ndcg@5'"):
        Evaluate(floor={"ndcg@5": 0.5})


def test_cli_json_prints_the_contract_keys_and_a_failed_gate_exits_non_zero(data_dir, prefect):
    from vectorsync.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["eval", str(EXAMPLE), "--json", "--exact"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout.strip().splitlines()[-1])
    assert set(data) == {"ndcg@10", "recall@10", "recall@100", "mrr@10", "queries", "exact"}
    assert data["queries"] == 12 and data["exact"] is True

    gated = runner.invoke(app, ["eval", str(EXAMPLE), "--floor", "mrr@10=1.5"])
    assert gated.exit_code == 1
    assert "quality gate failed" in gated.output and "mrr@10" in gated.output


def test_scifact_benchmark_skips_with_the_reason_when_the_data_is_absent(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "scifact_eval.py"), "--data", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("skipped: SciFact not found at")


def _any_id(store) -> str:
    return sorted(store.fingerprints(store.documents()))[0]
