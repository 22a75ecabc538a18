"""The command line as a user drives it: run, search, info and dry runs, on the real model and store."""

from __future__ import annotations

import json

import pytest
from fake_openai import FakeOpenAI
from typer.testing import CliRunner

from vectorsync.cli import app

pytestmark = pytest.mark.usefixtures("prefect_harness")
runner = CliRunner()


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_run_json_summary_has_the_documented_keys_and_reruns_give_the_same_ids(data_dir, corpus):
    first = runner.invoke(app, ["run", str(corpus), "--json"])
    assert first.exit_code == 0, first.output
    summary = last_json(first.stdout)
    for key in ("documents", "chunks", "embedded", "unchanged", "deleted", "dead_lettered", "seconds"):
        assert key in summary
    again = last_json(runner.invoke(app, ["run", str(corpus), "--json"]).stdout)
    assert again["chunks"] == summary["chunks"] and again["embedded"] == 0
    info = last_json(runner.invoke(app, ["info", "--json"]).stdout)
    assert info["chunks"] == summary["chunks"] == 4 and info["sources"] == 4 and info["dimensions"] == 384
    assert info["model"] == "sentence-transformers/all-MiniLM-L6-v2" and "lancedb" in info["store"]


def test_search_ranks_the_relevant_document_first_and_a_filter_narrows(data_dir, corpus):
    runner.invoke(app, ["run", str(corpus)])
    hits = json.loads(runner.invoke(app, ["search", "insects that make honey", "-k", "4", "--json"]).stdout)
    assert hits[0]["source"].endswith("bees.txt") and hits[0]["score"] > hits[-1]["score"]
    only_md = json.loads(
        runner.invoke(
            app, ["search", "insects that make honey", "--filter", '{"metadata.type": "md"}', "--json"]
        ).stdout
    )
    assert len(only_md) == 3 and all(h["source"].endswith(".md") for h in only_md)


def test_search_table_shows_scores_and_sources(data_dir, corpus):
    runner.invoke(app, ["run", str(corpus)])
    shown = runner.invoke(app, ["search", "gravity and spacetime", "-k", "2"])
    assert shown.exit_code == 0 and "space.md" in shown.stdout and "0." in shown.stdout


def test_bad_filter_is_a_clear_error_not_a_traceback(data_dir, corpus):
    runner.invoke(app, ["run", str(corpus)])
    result = runner.invoke(app, ["search", "bees", "--filter", '{"source": {"$regex": "bee"}}'])
    assert result.exit_code == 1 and "$regex" in result.output and "Traceback" not in result.output


def test_strict_run_exits_non_zero_and_lists_the_skip(data_dir, corpus):
    (corpus / "blank.txt").write_text("\n\n   \n")
    lenient = runner.invoke(app, ["run", str(corpus)])
    assert lenient.exit_code == 0 and "blank.txt" in lenient.output
    strict = runner.invoke(app, ["run", str(corpus), "--strict"])
    assert strict.exit_code == 1 and "blank.txt" in strict.output


def test_dry_run_counts_tokens_like_a_hand_count_and_writes_nothing(data_dir, tmp_path):
    (tmp_path / "cat.txt").write_text("The cat sat on the mat.")
    result = runner.invoke(app, ["run", str(tmp_path / "cat.txt"), "--dry-run", "--json"])
    estimate = last_json(result.stdout)
    # WordPiece: the / cat / sat / on / the / mat / .
    assert estimate["tokens"] == 7 and estimate["chunks"] == 1 and estimate["sample_embedded"] == 1
    assert estimate["estimated_cost_usd"] == 0.0 and estimate["dimensions"] == 384
    assert last_json(runner.invoke(app, ["info", "--json"]).stdout)["chunks"] == 0


def test_openai_dry_run_prices_tokens_and_never_shows_the_key(data_dir, tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("Vectors make search work by meaning rather than by keyword.")
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        result = runner.invoke(app, ["run", str(tmp_path), "--dry-run", "--json", "--embedder", "openai"])
        estimate = last_json(result.stdout)
        assert len(server.requests) == 1  # the sample proves the key, URL and model work
    assert estimate["model"] == "text-embedding-3-small" and estimate["tokens"] > 0
    assert estimate["estimated_cost_usd"] == pytest.approx(estimate["tokens"] * 0.02 / 1_000_000)
    assert server.api_key not in result.output


def test_openai_embedder_runs_the_whole_pipeline_when_chosen_by_one_setting(data_dir, corpus, monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("VECTORSYNC_EMBEDDER", "openai")
        result = runner.invoke(app, ["run", str(corpus), "--json"])
        assert result.exit_code == 0, result.output
        info = last_json(runner.invoke(app, ["info", "--json"]).stdout)
    assert info["dimensions"] == 1536 and info["model"] == "text-embedding-3-small"
    assert server.api_key not in result.output
