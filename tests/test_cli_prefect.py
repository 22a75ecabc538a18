"""The CLI with Prefect, in subprocesses as a user runs it: logs in the API, a quiet terminal, one-line failures.

Runs use a real `prefect server start` (the session's, from conftest) or, where that is the point, none.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI
from prefect import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, LogFilter, LogFilterFlowRunId
from prefect.client.schemas.objects import DeploymentStatus
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect_server import REPO, clean_env, free_port, running_server, start, wait_for

CLI = [sys.executable, "-m", "vectorsync.cli"]
RUN_TIMEOUT_S = 400
# A liveness bound, far above the 5 s that serve gives Prefect's graceful stop.
SIGTERM_BOUND_S = 20


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "bees.txt").write_text("Honey bees live in colonies with one queen, thousands of workers and drones.")
    (folder / "space.md").write_text("# Black holes\n\nA black hole is a region where gravity lets nothing escape.")
    return folder


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: a store and a Prefect home of this test's own, nothing ambient."""
    return clean_env(
        VECTORSYNC_DATA_DIR=str(tmp_path / "store"),
        VECTORSYNC_CONFIG=str(tmp_path / "absent.toml"),
        PREFECT_HOME=str(tmp_path / "prefect"),
    )


@pytest.fixture
def api(prefect_api_url: str) -> Iterator[Any]:
    """A client of the session's Prefect server."""
    with temporary_settings({PREFECT_API_URL: prefect_api_url}), get_client(sync_client=True) as client:
        yield client


def vectorsync(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The failed command's stderr, checked to be a single `error:` line with no stack trace."""
    assert done.returncode == 1, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return lines[0]


def run_of(client: Any, path: Path) -> Any:
    """The embed-new-data flow run whose job embedded `path`."""
    flows = FlowFilter(name=FlowFilterName(any_=["embed-new-data"]))
    runs = [run for run in client.read_flow_runs(flow_filter=flows) if run.parameters["job"]["path"] == str(path)]
    assert len(runs) == 1, [run.parameters for run in runs]
    return runs[0]


def run_logs(client: Any, run_id: Any) -> list[str]:
    """The run's log lines, once its closing line has arrived (logs are shipped in batches)."""
    only_run = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))

    def closed() -> list[str] | None:
        messages = [entry.message for entry in client.read_logs(only_run, limit=200)]
        return messages if any(m.startswith("Finished in state") for m in messages) else None

    return wait_for(closed, 30, f"the logs of flow run {run_id}")


def test_cli_run_sends_its_info_logs_to_the_api_while_the_terminal_stays_quiet(api, prefect_api_url, env, tiny):
    done = vectorsync("run", str(tiny), "--json", env={**env, "PREFECT_API_URL": prefect_api_url})

    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["embedded"] == 2
    assert done.stderr.strip() == "", "the terminal shows warnings only, and a clean run has none"
    messages = run_logs(api, run_of(api, tiny).id)
    assert any(m.startswith(f"embedding {tiny}") for m in messages), messages
    assert any(m.startswith("embedded batch 1:") for m in messages), messages


def test_wrong_key_exits_1_naming_the_key_then_the_right_key_embeds_everything(prefect_api_url, env, tiny):
    with FakeOpenAI() as server:
        hosted = {
            **env,
            "PREFECT_API_URL": prefect_api_url,
            "VECTORSYNC_EMBEDDER": "openai",
            "OPENAI_BASE_URL": server.base_url,
        }
        wrong = vectorsync("run", str(tiny), "--json", env={**hosted, "OPENAI_API_KEY": "sk-wrong-0123456789abcdef"})
        assert "OPENAI_API_KEY" in one_line_error(wrong) and "401" in wrong.stderr
        assert len(server.requests) == 1, "a rejected key is not halved into a hunt for poison records"

        right = vectorsync("run", str(tiny), "--json", env={**hosted, "OPENAI_API_KEY": server.api_key or ""})
        assert right.returncode == 0, right.stderr[-3000:]
        summary = json.loads(right.stdout.strip().splitlines()[-1])
        assert summary["embedded"] == summary["chunks"] == 2 and summary["dead_lettered"] == 0
        assert len(server.requests) > 1, "nothing of the failed run was cached"


def test_temporary_server_that_does_not_start_in_time_ends_in_one_line_saying_what_to_do(env, tiny):
    # A real start, with less time than any Prefect server needs to import itself and answer /api/health.
    done = vectorsync("run", str(tiny), env={**env, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"})

    line = one_line_error(done)
    assert "did not start within 1 s" in line and "prefect server start" in line
    assert "PREFECT_API_URL" in line and "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in line


def test_unreachable_api_url_ends_in_one_line(env, tiny):
    dead = f"http://127.0.0.1:{free_port()}/api"
    line = one_line_error(vectorsync("run", str(tiny), env={**env, "PREFECT_API_URL": dead}))
    assert dead in line and "prefect server start" in line


@pytest.mark.slow
def test_serve_exits_promptly_on_sigterm_once_its_api_has_gone(tmp_path, env):
    log = tmp_path / "serve.log"
    (tmp_path / "own-server").mkdir()
    with running_server(tmp_path / "own-server") as url:
        serve = start([*CLI, "serve"], {**env, "PREFECT_API_URL": url}, log)
        try:
            with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:

                def polling() -> bool:
                    """Registered, and polled by the runner: serve is inside Prefect's runner loop."""
                    assert serve.poll() is None, log.read_text(errors="replace")[-3000:]
                    deployments = client.read_deployments()
                    return len(deployments) >= 2 and all(d.status == DeploymentStatus.READY for d in deployments)

                wait_for(polling, 180, "vectorsync serve to poll for its deployments' runs", log)
        except BaseException:
            os.killpg(serve.pid, signal.SIGKILL)
            raise
    # The server is gone now; serve's graceful stop would retry its API calls.
    os.killpg(serve.pid, signal.SIGTERM)
    try:
        serve.wait(SIGTERM_BOUND_S)
    except subprocess.TimeoutExpired:
        os.killpg(serve.pid, signal.SIGKILL)
        serve.wait(10)
        raise AssertionError(f"serve ignored SIGTERM for {SIGTERM_BOUND_S} s:\n{log.read_text()[-3000:]}") from None
    assert "no clean stop within 5 s of SIGTERM" in log.read_text(errors="replace")


def test_pypdf_warnings_about_a_damaged_pdf_stay_out_of_the_terminal(tmp_path, env):
    from pypdf import PdfWriter

    pdf = tmp_path / "damaged.pdf"
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(pdf)
    body = pdf.read_bytes()
    pdf.write_bytes(body[: body.rindex(b"startxref")] + b"startxref\n9999\n%%EOF\n")  # pypdf warns, then recovers

    done = vectorsync("run", str(pdf), "--dry-run", env=env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "startxref" not in done.stderr + done.stdout and "pypdf" not in done.stderr
