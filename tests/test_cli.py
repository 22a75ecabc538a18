"""The command line as a user drives it: run, search, info and dry runs, on the real model and store."""

from __future__ import annotations

import json
import logging
import os
import random
import string
import sys
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI
from typer.testing import CliRunner

from vectorsync.chunking import MAX_CHARS_PER_TOKEN
from vectorsync.cli import app
from vectorsync.errors import StoreError
from vectorsync.locking import target_lock
from vectorsync.settings import Settings

pytestmark = pytest.mark.usefixtures("prefect_harness")


class _CurrentStderr:
    """Whatever `sys.stderr` is at the moment of writing: the stream of the invocation now running."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class Runner(CliRunner):
    """A CliRunner whose Prefect console handlers follow each invocation's stderr.

    A handler made during one invocation keeps that invocation's (then closed) stream; the next
    invocation's log lines would fail with "--- Logging error ---" and a traceback of the test harness.
    """

    def invoke(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        stream = _CurrentStderr()
        for handler in logging.getLogger("prefect").handlers + logging.getLogger().handlers:
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.stream = stream  # type: ignore[attr-defined]
                handler.console.file = stream  # type: ignore[attr-defined]
        return super().invoke(*args, **kwargs)


runner = Runner()


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


# Issue 13: no input and no mistake sinks a run or prints a traceback (one test per row of its table).


def error_line(result) -> str:
    """The command's single `error:` line; fails when there is none, several, or a traceback."""
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def hits_of(source: str, text: str = "anything") -> list[dict]:
    found = runner.invoke(
        app, ["search", text, "-k", "1000", "--exact", "--json", "--filter", json.dumps({"source": source})]
    )
    assert found.exit_code == 0, found.output
    return json.loads(found.stdout)


def test_jsonl_line_nested_10000_deep_is_named_and_every_good_file_is_embedded(data_dir, corpus):
    deep = '{"text": "fine", "x": ' + "[" * 10_000 + "]" * 10_000 + "}"
    (corpus / "rows.jsonl").write_text(
        json.dumps({"text": "Glaciers carve valleys into mountains."}) + "\n" + deep + "\n"
    )

    result = runner.invoke(app, ["run", str(corpus), "--json"])

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert last_json(result.stdout)["documents"] == 5
    hits = json.loads(runner.invoke(app, ["search", "glaciers and valleys", "-k", "1", "--json"]).stdout)
    assert hits[0]["source"] == (corpus / "rows.jsonl").resolve().as_posix()
    [skip] = last_json(result.stdout)["skips"]
    assert (skip["source"], skip["location"]) == (hits[0]["source"], "line 2") and "nested too deeply" in skip["reason"]


@pytest.mark.skipif(os.uname().sysname == "Darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_file_name_that_is_not_utf8_is_embedded_with_escapes_and_stays_one_document(data_dir, corpus):
    name = os.fsdecode(b"bad_\xff\xfe.txt")
    (corpus / name).write_text("Volcanoes erupt molten rock called lava.")
    shown = (corpus.resolve() / "bad_\\xff\\xfe.txt").as_posix()

    first = runner.invoke(app, ["run", str(corpus), "--json"])

    assert first.exit_code == 0 and "Traceback" not in first.output, first.output
    assert last_json(first.stdout)["documents"] == 5
    [hit] = hits_of(shown, "volcanoes and lava")
    assert hit["text"] == "Volcanoes erupt molten rock called lava." and hit["document"] == shown
    again = runner.invoke(app, ["run", str(corpus), "--json", "--prune"])
    assert again.exit_code == 0, again.output
    assert (last_json(again.stdout)["embedded"], last_json(again.stdout)["deleted"]) == (0, 0)


def test_symlink_loop_broken_link_and_named_pipe_are_named_as_skipped(data_dir, corpus):
    (corpus / "loop").symlink_to(corpus)
    (corpus / "a.txt").symlink_to(corpus / "b.txt")
    (corpus / "b.txt").symlink_to(corpus / "a.txt")
    (corpus / "gone.md").symlink_to(corpus / "nowhere.md")
    os.mkfifo(corpus / "pipe.txt")  # opening it would wait forever for a writer

    result = runner.invoke(app, ["run", str(corpus), "--json"])

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    summary = last_json(result.stdout)
    assert summary["documents"] == 4
    reasons = {Path(skip["source"]).name: skip["reason"] for skip in summary["skips"]}
    assert "symbolic link loop" in reasons["loop"] and reasons["a.txt"] == reasons["b.txt"] == "symbolic link loop"
    assert "broken symbolic link" in reasons["gone.md"] and "named pipe" in reasons["pipe.txt"]


def test_line_the_tokenizer_cannot_split_is_cut_by_characters_with_a_warning(data_dir, corpus, embedder, caplog):
    blob = "".join(random.Random(13).choice(string.ascii_letters + string.digits) for _ in range(10_000))
    (corpus / "blob.txt").write_text(blob)
    source = (corpus / "blob.txt").resolve().as_posix()

    with caplog.at_level(logging.WARNING, logger="vectorsync.chunking"):
        result = runner.invoke(app, ["run", str(corpus), "--json"])

    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert any(source in message and "cut by characters" in message for message in caplog.messages)
    chunks = hits_of(source)
    assert len(chunks) > 10 and "".join(sorted(c["text"] for c in chunks)) != ""
    assert all(len(c["text"]) <= MAX_CHARS_PER_TOKEN * embedder.count_tokens(c["text"]) for c in chunks)
    assert sum(len(c["text"]) for c in chunks) == len(blob)


@pytest.mark.parametrize("k", ["0", "-1"])
def test_search_with_k_below_one_is_a_usage_error_naming_k(data_dir, k):
    result = runner.invoke(app, ["search", "cancer", "-k", k])

    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'-k'" in result.output and "1" in result.output


@pytest.mark.parametrize("text", ["", "   \n"])
def test_search_for_an_empty_query_is_refused_in_one_line(data_dir, text):
    result = runner.invoke(app, ["search", text])

    assert result.exit_code == 2
    assert error_line(result).startswith("error: TEXT=") and "words to search for" in result.output
    assert not data_dir.exists()


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("VECTORSYNC_CHUNK_TOKENS", "0", "greater than or equal to 8"),
        ("VECTORSYNC_CHUNK_TOKENS", "-5", "greater than or equal to 8"),
        ("VECTORSYNC_BATCH_SIZE", "0", "greater than or equal to 1"),
        ("VECTORSYNC_CHUNK_OVERLAP", "many", "valid integer"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_bad_numeric_setting_is_one_line_naming_the_variable(
    data_dir, corpus, monkeypatch, variable, value, allowed, dry_run
):
    monkeypatch.setenv(variable, value)

    result = runner.invoke(app, ["run", str(corpus), *(["--dry-run"] if dry_run else [])])

    assert result.exit_code == 2
    assert error_line(result) == f"error: {variable}={value!r}: Input should be {allowed}" or allowed in result.output
    assert f"{variable}={value!r}" in result.output and len(result.output.strip().splitlines()) == 1
    assert not data_dir.exists()


@pytest.mark.parametrize("command", [["info"], ["search", "bees"], ["doctor"], ["eval", "somewhere"]])
def test_every_command_refuses_a_bad_setting_in_one_line(data_dir, monkeypatch, command):
    monkeypatch.setenv("VECTORSYNC_BATCH_SIZE", "0")

    result = runner.invoke(app, command)

    assert result.exit_code == 2 and "VECTORSYNC_BATCH_SIZE='0'" in error_line(result)


def test_data_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path, corpus, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_DATA_DIR", str(tmp_path / "a-file"))
    (tmp_path / "a-file").write_text("not a folder")

    for command in (["run", str(corpus)], ["run", str(corpus), "--dry-run"], ["info"], ["search", "bees"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert (
            error_line(result)
            == f"error: VECTORSYNC_DATA_DIR={tmp_path / 'a-file'}: is a file; point it at a folder (created if missing)"
        )


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs, where no one may create a folder")
def test_data_dir_that_cannot_be_written_is_one_line_and_exit_1(corpus, monkeypatch):
    monkeypatch.setenv("VECTORSYNC_DATA_DIR", "/sys/vectorsync-test-data")

    result = runner.invoke(app, ["run", str(corpus)])

    assert result.exit_code == 1
    assert error_line(result).startswith("error: VECTORSYNC_DATA_DIR=/sys/vectorsync-test-data: cannot write there")


def test_run_on_a_missing_path_is_one_line_and_leaves_nothing_on_disk(data_dir, tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nowhere")])

    assert result.exit_code == 2
    assert error_line(result) == f"error: PATH {tmp_path / 'nowhere'}: no such file or folder"
    assert result.output.strip().splitlines() == [error_line(result)]
    assert not data_dir.exists()


def test_one_data_dir_spelled_two_ways_is_one_target(tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    plain, detour = Settings(data_dir=Path("dataB")), Settings(data_dir=Path("sub/../dataB"))
    assert plain.describe_store() == detour.describe_store() and plain.data_dir == tmp_path.resolve() / "dataB"

    with (
        target_lock(plain.data_dir / "locks", plain.describe_store()),  # a run holds the target
        pytest.raises(StoreError, match="another run still holds the lock"),
        target_lock(detour.data_dir / "locks", detour.describe_store(), timeout_s=0),
    ):
        pass

    monkeypatch.setenv("VECTORSYNC_DATA_DIR", "sub/../dataB")
    first = runner.invoke(app, ["run", str(corpus), "--json"])
    monkeypatch.setenv("VECTORSYNC_DATA_DIR", "dataB")
    second = runner.invoke(app, ["run", str(corpus), "--json"])
    assert last_json(first.stdout)["embedded"] == 4 and last_json(second.stdout)["embedded"] == 0


def test_every_command_is_wrapped_so_no_error_prints_a_traceback():
    assert all(getattr(command.callback, "__wrapped__", None) for command in app.registered_commands)
