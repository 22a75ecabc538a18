"""Prefect's task retries honour the server's Retry-After, and say so once (tasks/retrying.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_openai import FakeOpenAI, Fault
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import TaskRunPolicy
from prefect.client.schemas.sorting import FlowRunSort

from flows.embed_new_data import embed_new_data
from tasks.retrying import BACKOFF, JITTER, MAX_HINTED_WAIT_S, retry_transient
from vectorsync.embedders import register_embedder
from vectorsync.embedders.openai import OpenAIEmbedder
from vectorsync.errors import TransientError
from vectorsync.jobs import EmbedNewData
from vectorsync.settings import Settings

RETRY_AFTER_S = 3


@pytest.fixture
def server(data_dir, monkeypatch) -> Iterator[FakeOpenAI]:
    """A fake OpenAI whose client does not retry by itself, so every 429 goes to Prefect's retries."""
    with FakeOpenAI() as fake:
        monkeypatch.setenv("VECTORSYNC_EMBEDDER", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", fake.api_key or "")
        embedder = OpenAIEmbedder(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
        register_embedder(Settings(), embedder)
        yield fake


def test_backoff_shows_as_one_number_and_grows_without_a_hint():
    assert float(BACKOFF) == 2.0 and JITTER is None, "the UI's Retry Delay is a number, Prefect adds no jitter"
    assert [1.0 <= BACKOFF[0] <= 3.0, 2.0 <= BACKOFF[1] <= 6.0, 4.0 <= BACKOFF[2] <= 12.0] == [True] * 3


def test_backoff_is_a_sequence_of_one_delay_per_retry():
    # Prefect validates a task run's policy by iterating the delays: an endless sequence cost 46 ms per task run.
    assert len(list(BACKOFF)) == len(BACKOFF) == 3
    with pytest.raises(IndexError):
        BACKOFF[3]
    assert TaskRunPolicy(retries=3, retry_delay=BACKOFF).retry_delay == 2.0, "the UI still shows one number"


@pytest.mark.usefixtures("prefect_harness")
def test_rate_limited_batch_is_retried_no_sooner_than_retry_after_and_the_reason_is_logged_once(server, corpus):
    server.queue(Fault.rate_limited(retry_after=str(RETRY_AFTER_S)))

    summary = embed_new_data(EmbedNewData(path=str(corpus)))

    assert summary["embedded"] == 4 and summary["dead_lettered"] == 0
    embeds = server.requests
    assert len(embeds) == 2, "one 429, then one retry"
    assert embeds[1].received_at - embeds[0].received_at >= RETRY_AFTER_S

    with get_client(sync_client=True) as client:
        run = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)[0]
        logs = [log.message for log in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))]
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
        embed = next(task for task in task_runs if task.name.startswith("embed-batch"))
        states = client.read_task_run_states(embed.id)
    about_429 = [message for message in logs if "429" in message]
    assert len(about_429) == 1, about_429
    assert f"will start {RETRY_AFTER_S:.1f} second(s) from now" in about_429[0]
    waiting = next(state for state in states if state.name == "AwaitingRetry")
    assert (waiting.state_details.scheduled_time - waiting.timestamp).total_seconds() >= RETRY_AFTER_S - 0.1
    assert embed.empirical_policy.retry_delay == 2.0


class _Failed:
    """A failed state as Prefect hands it to `retry_condition_fn`."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def result(self) -> None:
        raise self.exc


class _TaskRun:
    name = "embed-batch-1-of-1"


def test_a_wait_longer_than_the_cap_is_not_retried():
    too_long = TransientError("asks to wait", retry_after=MAX_HINTED_WAIT_S + 1)
    assert retry_transient(None, _TaskRun(), _Failed(too_long)) is False
    assert retry_transient(None, _TaskRun(), _Failed(TransientError("503", retry_after=5))) is True
    assert BACKOFF[0] == 5.0 and BACKOFF[0] <= 3.0, "the hint serves the next delay Prefect reads, once"
