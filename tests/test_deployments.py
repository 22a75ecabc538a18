"""Deployments on a real Prefect server (SQLite, started here): served, triggered through the API, watched back.

One server and one `vectorsync serve` run for the whole module; every subprocess is stopped at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest
from conftest import REPO
from fake_openai import FakeOpenAI, Fault
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.callables import parameter_schema
from prefect_server import clean_env, start, stop, wait_for

from deployments.catalog import CATALOG, find, with_schedules
from vectorsync.doctor import prefect_api
from vectorsync.errors import ConfigError
from vectorsync.settings import Settings
from vectorsync.stores import open_store

T = TypeVar("T")
NEW_DATA = "embed-new-data/sample-docs"
# What `vectorsync serve` serves without MONGODB_URI.
SERVED = [spec for spec in CATALOG if not spec.needs_mongodb]
RUN_TIMEOUT_S = 240


@dataclass
class Served:
    """A `vectorsync serve` process: its API, its runs' data directory, its log, its schedules, its first run.

    `default_run` was triggered with no parameters as soon as serve was up, like a UI run with no edits; it
    works through the sample corpus while the other tests run theirs.
    """

    api_url: str
    data_dir: Path
    log: Path
    cron: str
    default_run: UUID
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def prefect_server(prefect_api_url: str) -> Iterator[str]:
    """The session's real Prefect server, as the API this module's client calls talk to."""
    with temporary_settings({PREFECT_API_URL: prefect_api_url}):
        yield prefect_api_url


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAI]:
    """OpenAI's embeddings API on a local port, so a served run can meet a real protocol fault."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def served(
    prefect_server: str, openai_server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """`vectorsync serve` with every schedule moved to a minute at least 25 minutes away, so none fires here."""
    root = tmp_path_factory.mktemp("served")
    cron = f"{(datetime.now(UTC) + timedelta(minutes=30)).minute} * * * *"
    env = clean_env(
        PREFECT_API_URL=prefect_server,
        PREFECT_HOME=str(root / "prefect"),  # task results and caches of these runs stay in the test's tmp
        PREFECT_LOGGING_LEVEL="INFO",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        VECTORSYNC_DATA_DIR=str(root / "store"),
        VECTORSYNC_CONFIG=str(root / "absent.toml"),
        VECTORSYNC_TASK_BATCH_SIZE="32",  # the sample corpus's 120 chunks make four batches
        OPENAI_BASE_URL=openai_server.base_url,
        OPENAI_API_KEY=openai_server.api_key or "",
    )
    schedules = [f"--schedule={spec.full_name}={cron}" for spec in CATALOG if spec.cron]
    log = root / "serve.log"
    process = start([sys.executable, "-m", "vectorsync.cli", "serve", *schedules], env, log)
    try:
        with get_client(sync_client=True) as client:

            def all_deployed() -> bool:
                assert process.poll() is None, f"vectorsync serve exited:\n{log.read_text(errors='replace')[-3000:]}"
                return len(client.read_deployments()) == len(SERVED)

            wait_for(all_deployed, 120, "vectorsync serve to register the catalog", log)
        default_run = run_deployment(NEW_DATA, timeout=0)
        yield Served(prefect_server, root / "store", log, cron, default_run.id, process)
    finally:
        stop(process)


@pytest.fixture
def client(prefect_server: str) -> Iterator[Any]:
    with get_client(sync_client=True) as client:
        yield client


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "bees.txt").write_text("Honey bees live in colonies with one queen, thousands of workers and drones.")
    (folder / "space.md").write_text("# Black holes\n\nA black hole is a region where gravity lets nothing escape.")
    return folder


def trigger(name: str, parameters: dict[str, Any] | None = None) -> FlowRun:
    """Run deployment `name` through the API and wait for its final state."""
    run = run_deployment(name, parameters=parameters, timeout=RUN_TIMEOUT_S, poll_interval=1)
    assert run.state is not None and run.state.is_final(), f"{name} did not finish in {RUN_TIMEOUT_S} s: {run.state}"
    return run


def finished(client: Any, run_id: UUID) -> FlowRun:
    """Flow run `run_id` once it reached a final state."""

    def final() -> FlowRun | None:
        run = client.read_flow_run(run_id)
        return run if run.state is not None and run.state.is_final() else None

    return wait_for(final, RUN_TIMEOUT_S, f"flow run {run_id} to finish")


def log_messages(client: Any, run_id: UUID) -> list[str]:
    """The run's log lines, once the flow's closing line has arrived (logs are shipped in batches)."""
    only_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))

    def closed() -> list[str] | None:
        entries = client.read_logs(only_run, limit=200)
        flow_done = any(e.task_run_id is None and e.message.startswith("Finished in state") for e in entries)
        return [entry.message for entry in entries] if flow_done else None

    return wait_for(closed, 30, f"the logs of flow run {run_id}")


def artifacts_by_key(client: Any, run_id: UUID) -> dict[str, Any]:
    runs = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
    return {artifact.key: artifact for artifact in client.read_artifacts(flow_run_filter=runs)}


def task_runs_by_name(client: Any, run_id: UUID) -> dict[str, Any]:
    runs = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
    return {task_run.name: task_run for task_run in client.read_task_runs(flow_run_filter=runs)}


def test_schedule_overrides_change_or_remove_a_schedule_and_reject_bad_cron():
    specs = with_schedules([f"{NEW_DATA}=*/5 * * * *", "sample-eval=off"])
    assert find(NEW_DATA, specs).cron == "*/5 * * * *" and find("evaluate/sample-eval", specs).cron is None
    assert find(NEW_DATA).cron == "0 * * * *", "the catalog itself is left as it was"
    with pytest.raises(ConfigError, match="not a valid cron"):
        with_schedules([f"{NEW_DATA}=every hour"])
    with pytest.raises(ConfigError, match="no deployment named 'nope'"):
        with_schedules(["nope=0 * * * *"])


def test_catalog_schedules_at_least_two_deployments_and_defaults_to_the_sample_data():
    assert sum(1 for spec in CATALOG if spec.cron) >= 2
    assert find(NEW_DATA).parameters()["job"]["path"] == "examples/docs"
    assert (REPO / find(NEW_DATA).entrypoint.split(":")[0]).is_file()


def test_docs_list_every_deployment_with_its_default_schedule():
    rows = (REPO / "docs" / "deployments.md").read_text().splitlines()
    for spec in CATALOG:
        row = next(line for line in rows if line.startswith(f"| `{spec.full_name}` |"))
        assert (f"`{spec.cron}`" if spec.cron else "unscheduled") in row


def test_serve_registers_every_deployment_with_form_schedule_tags_and_description(served, client):
    for spec in SERVED:
        deployment = client.read_deployment_by_name(spec.full_name)
        assert deployment.description == spec.description and set(spec.tags) <= set(deployment.tags)
        assert deployment.parameters == spec.parameters()
        crons = [schedule.schedule.cron for schedule in deployment.schedules]
        assert crons == ([served.cron] if spec.cron else [])
    form = client.read_deployment_by_name(NEW_DATA).parameter_openapi_schema
    job = form["definitions"]["EmbedNewData"]["properties"]
    assert job["top_k"]["maximum"] == 50 and job["top_k"]["minimum"] == 1
    assert all(field.get("description") for field in job.values()), "every field of the UI form is explained"


def test_serve_leaves_out_the_mongodb_deployment_without_mongodb_uri_and_says_why(served, client):
    registered = {d.name for d in client.read_deployments()}
    assert "sample-airbnb" not in registered and "sample-docs" in registered
    log = served.log.read_text(errors="replace")
    assert "not served embed-existing/sample-airbnb: MONGODB_URI is not set" in " ".join(log.split())


def test_custom_run_form_leads_with_the_job_and_has_no_none_switches(served, client):
    form = client.read_deployment_by_name(NEW_DATA).parameter_openapi_schema
    job = form["definitions"]["EmbedNewData"]["properties"]
    assert list(job)[:5] == ["path", "query", "prune", "refresh", "strict"]
    assert list(job)[-5:] == ["embedder", "model", "batch_size", "data_dir", "store"]
    assert not [name for name, field in job.items() if "anyOf" in field], "no field offers a None switch"
    assert job["embedder"]["enum"][0] == job["embedder"]["default"] == "configured"
    assert "PATH" not in " ".join(field["description"] for field in job.values())
    for spec in SERVED:
        schema = client.read_deployment_by_name(spec.full_name).parameter_openapi_schema
        fields = next(iter(schema["definitions"].values()))["properties"]
        assert not [name for name, field in fields.items() if "anyOf" in field], spec.full_name


def test_job_parameter_of_every_flow_cannot_be_switched_to_none():
    for spec in CATALOG:
        job = parameter_schema(spec.flow).model_dump_for_openapi()["properties"]["job"]
        assert "anyOf" not in job and job["$ref"].endswith(type(spec.job).__name__), spec.full_name


def test_scheduled_deployment_shows_its_next_runs_on_the_changed_schedule(served, client):
    deployment = client.read_deployment_by_name(NEW_DATA)
    scheduled = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))
    only_this = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))

    def next_runs() -> list[FlowRun] | None:
        runs = client.read_flow_runs(flow_run_filter=scheduled, deployment_filter=only_this, limit=5)
        return [r for r in runs if r.auto_scheduled] or None

    runs = wait_for(next_runs, 60, "the scheduler to plan the next runs", served.log)
    minute = int(served.cron.split()[0])
    assert all(r.expected_start_time.minute == minute for r in runs)
    assert all(r.expected_start_time > datetime.now(UTC) for r in runs)


def test_run_triggered_with_parameters_completes_with_logs_artifacts_and_retry_policy(
    served, client, tiny_corpus, tmp_path
):
    job = {"path": str(tiny_corpus), "data_dir": str(tmp_path), "query": "insects that make honey", "top_k": 2}
    parameters = {"job": job}
    run = trigger(NEW_DATA, parameters)
    assert run.state.type == StateType.COMPLETED, run.state.message
    assert run.parameters == parameters

    messages = log_messages(client, run.id)
    assert any(m.startswith(f"embedding {tiny_corpus}") for m in messages)
    assert "embedded batch 1: 2 chunks" in messages
    assert any(m.startswith("smoke test 'insects that make honey': top hit") for m in messages)
    assert not any("Traceback" in m for m in messages), "a clean run logs no stack trace"

    artifacts = artifacts_by_key(client, run.id)
    assert artifacts["embedding-progress"].data == 100.0
    summary = {row["figure"]: row["value"] for row in json.loads(artifacts["run-summary"].data)}
    assert summary["Chunks embedded"] == "2" and summary["Index state"] == "READY"
    assert summary["Path"] == str(tiny_corpus) and summary["Smoke-test query"] == "insects that make honey"
    assert run.name == f"embed {tiny_corpus}"
    assert run.state.message == "2 embedded, 0 unchanged, 0 skipped (2 files, 2 documents, 2 chunks)"
    smoke = artifacts["smoke-test"].data
    assert "insects that make honey" in smoke and smoke.index("bees.txt") < smoke.index("space.md")

    tasks = task_runs_by_name(client, run.id)
    embed = tasks["embed-batch-1"]
    assert embed.empirical_policy.retries == 3 and embed.state.is_completed() and embed.run_count == 1
    assert not any(name.startswith("write-batch") for name in tasks), "a batch is embedded and written by one task"


def test_transient_fault_in_a_served_run_is_retried_by_prefect(served, client, openai_server, tiny_corpus, tmp_path):
    # The embedder's own six retries all meet a 429; then Prefect retries the task.
    openai_server.queue(*[Fault.rate_limited(retry_after="0.1")] * 7)
    job = {"path": str(tiny_corpus), "embedder": "openai", "model": "text-embedding-3-small", "data_dir": str(tmp_path)}
    run = trigger(NEW_DATA, {"job": job})
    assert run.state.type == StateType.COMPLETED, run.state.message
    embed = task_runs_by_name(client, run.id)["embed-batch-1"]
    assert embed.run_count == 2 and embed.state.is_completed()
    assert any("Retry 1/3" in m for m in log_messages(client, run.id))
    assert len(openai_server.requests) == 8


@pytest.mark.slow
def test_run_with_default_parameters_embeds_the_sample_corpus_batch_by_batch(served, client):
    run = finished(client, served.default_run)
    assert run.state.type == StateType.COMPLETED, run.state.message
    assert run.parameters == find(NEW_DATA).parameters()
    messages = log_messages(client, run.id)
    assert "120 embedded, 0 unchanged, 0 skipped (20 files, 48 documents, 120 chunks)" in messages
    batches = [m for m in messages if m.startswith("embedded batch ")]
    sizes = {int(m.split()[2].rstrip(":")): int(m.split()[3]) for m in batches}
    assert sorted(sizes) == list(range(1, len(sizes) + 1)) and sum(sizes.values()) == 120
    assert all(size <= 32 for size in sizes.values()), "VECTORSYNC_TASK_BATCH_SIZE bounds every batch"
    assert not any("Traceback" in m for m in messages)
    assert artifacts_by_key(client, run.id)["embedding-progress"].data == 100.0
    with open_store(Settings(data_dir=served.data_dir)) as store:
        assert store.count() == 120


def test_served_runs_print_no_stack_trace(served):
    assert "Traceback" not in served.log.read_text(errors="replace")


def test_doctor_finds_the_api_that_serve_uses(served):
    check = prefect_api(served.api_url)
    assert check.ok, check.detail


def test_deploy_registers_the_catalog_for_a_work_pool_whose_worker_runs_it(served, client, tiny_corpus, tmp_path):
    stop(served.process)  # from here on the deployments belong to the pool: only its worker may run them
    client.create_work_pool(WorkPoolCreate(name="vectorsync-test", type="process"))
    env = clean_env(PREFECT_API_URL=served.api_url, PREFECT_HOME=str(tmp_path / "prefect"))
    command = [sys.executable, "-m", "vectorsync.cli", "deploy", "--pool", "vectorsync-test"]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    for spec in CATALOG:
        deployment = client.read_deployment_by_name(spec.full_name)
        assert deployment.work_pool_name == "vectorsync-test" and deployment.entrypoint == spec.entrypoint
        assert [s.schedule.cron for s in deployment.schedules] == ([spec.cron] if spec.cron else [])
        assert deployment.pull_steps[0]["prefect.deployments.steps.set_working_directory"]["directory"] == str(REPO)

    job = {"path": str(tiny_corpus), "data_dir": str(tmp_path / "store")}
    run = run_deployment(NEW_DATA, parameters={"job": job}, timeout=0)
    worker = [sys.executable, "-m", "prefect", "worker", "start", "--pool", "vectorsync-test", "--run-once"]
    subprocess.run(worker, env=env, cwd=tmp_path, capture_output=True, timeout=RUN_TIMEOUT_S, check=True)
    assert finished(client, run.id).state.type == StateType.COMPLETED


def test_deploy_to_a_missing_pool_says_how_to_create_it(served):
    env = clean_env(PREFECT_API_URL=served.api_url)
    command = [sys.executable, "-m", "vectorsync.cli", "deploy", "--pool", "no-such-pool"]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "prefect work-pool create no-such-pool --type process" in " ".join(done.stderr.split())
