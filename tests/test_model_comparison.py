"""Comparing models on one labelled set: one table and one row per model, with what its vectors cost to keep."""

from __future__ import annotations

import json
from pathlib import Path

import lancedb
import pytest
from typer.testing import CliRunner

from vectorsync.errors import ConfigError
from vectorsync.evaluation.comparison import ModelChoice, bytes_per_vector, parse_model_choice
from vectorsync.settings import Settings

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "eval"
MINI = "sentence-transformers/all-MiniLM-L6-v2"


def test_a_trailing_number_after_a_colon_cuts_the_model_to_that_many_dimensions():
    assert parse_model_choice(f"{MINI}:256") == ModelChoice(MINI, 256)
    assert parse_model_choice(MINI) == ModelChoice(MINI)
    assert parse_model_choice("./models/mini") == ModelChoice("./models/mini")
    with pytest.raises(ConfigError, match="must be named"):
        parse_model_choice("  ")


def test_each_choice_gets_its_own_table():
    assert ModelChoice(MINI).table("eval_scifact") == "eval_scifact__all_minilm_l6_v2"
    assert ModelChoice(MINI, 256).table("eval_scifact") == "eval_scifact__all_minilm_l6_v2_256d"


@pytest.mark.parametrize(
    ("store", "vector_format", "size"),
    [
        # LanceDB: a fixed-size list of float32.
        ("lancedb", "float32", 1536),
        # BSON binary vectors: 4 length bytes, the subtype byte, dtype and padding bytes, then the data.
        ("mongodb", "float32", 4 + 1 + 2 + 384 * 4),
        ("mongodb", "int8", 4 + 1 + 2 + 384),
        ("mongodb", "packed_bit", 4 + 1 + 2 + 384 // 8),
        # A BSON array: per element a type byte, the index as a C string, 8 bytes of double.
        ("mongodb", "array", 4 + sum(1 + len(str(i)) + 1 + 8 for i in range(384)) + 1),
    ],
)
def test_bytes_per_vector_is_what_the_store_keeps(store, vector_format, size):
    settings = Settings(store=store, mongodb_uri="mongodb://localhost:27017", vector_format=vector_format)
    assert bytes_per_vector(384, settings) == size


@pytest.fixture
def cli(data_dir, prefect_harness):
    from vectorsync.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["eval", str(EXAMPLE), *args])


def test_eval_with_two_models_prints_one_row_per_model_each_from_its_own_table(cli, data_dir):
    shown = cli("--exact", "--model", MINI, "--model", f"{MINI}:256")
    assert shown.exit_code == 0, shown.output
    rows = [line.split() for line in shown.stdout.splitlines() if line.rstrip().endswith(" GB")]
    assert len(rows) == 2, shown.stdout
    assert (rows[0][1], rows[0][-2:]) == ("384", ["1.54", "GB"]) and (rows[1][1], rows[1][-2:]) == (
        "256",
        ["1.02", "GB"],
    )

    again = cli("--exact", "--json", "--model", MINI, "--model", f"{MINI}:256")
    assert again.exit_code == 0, again.output
    first, cut = json.loads(again.stdout.strip().splitlines()[-1])["models"]
    assert (first["model"], first["dimensions"], first["bytes_per_vector"]) == (MINI, 384, 1536)
    assert (cut["model"], cut["dimensions"], cut["bytes_per_vector"]) == (f"{MINI}:256", 256, 1024)
    assert first["max_tokens"] == cut["max_tokens"] == 254, "256 positions less the two special tokens"
    assert first["ndcg@10"] > 0.8 and cut["ndcg@10"] > 0.8
    assert first["docs_per_s"] is None and cut["docs_per_s"] is None, "the re-run reused the stored vectors"

    db = lancedb.connect(str(data_dir / "lancedb"))
    widths = {name: db.open_table(name).schema.field("vector").type.list_size for name in db.list_tables().tables}
    assert widths == {"eval_eval__all_minilm_l6_v2": 384, "eval_eval__all_minilm_l6_v2_256d": 256}


def test_a_fresh_comparison_measures_throughput(data_dir, prefect_harness):
    from flows.evaluate import evaluate
    from vectorsync.jobs import Evaluate

    result = evaluate(Evaluate(dataset=str(EXAMPLE), exact=True, models=[f"{MINI}:128", f"{MINI}:64"]))
    assert [row["dimensions"] for row in result["models"]] == [128, 64]
    assert all(row["docs_per_s"] > 0 for row in result["models"])


def test_a_floor_with_several_models_is_a_usage_mistake(cli):
    refused = cli("--model", MINI, "--model", f"{MINI}:256", "--floor", "ndcg@10=0.5")
    assert refused.exit_code == 2 and "--floor gates one model" in refused.output
