"""A real `prefect server start` for tests, and the subprocess helpers around it.

with running_server(home) as url:   # http://127.0.0.1:<free port>/api, SQLite under `home`
    subprocess.run([...], env=clean_env(PREFECT_API_URL=url))
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import httpx

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")
# Ambient settings that must not leak into the processes a test starts.
LEAKY = ("VECTORSYNC_", "MONGODB_URI", "OPENAI_", "PREFECT_API_", "PREFECT_LOGGING_", "PREFECT_HOME")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without vectorsync's, Prefect's API or logging settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY)}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HF_HUB_OFFLINE": "1", **extra}


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `command` in its own process group, so that stopping it also stops what it spawned."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(20)  # a graceful stop: serve pauses its schedules, the server closes its database
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def wait_for(probe: Callable[[], T | None], timeout_s: float, what: str, log: Path | None = None) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log else ""
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tail}")


@contextmanager
def running_server(home: Path) -> Iterator[str]:
    """`prefect server start` on a free port with its own PREFECT_HOME (SQLite), not the ephemeral API."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = home / "server.log"
    env = clean_env(PREFECT_HOME=str(home), PREFECT_SERVER_UI_ENABLED="false")
    server = start(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log
    )

    def healthy() -> bool:
        assert server.poll() is None, f"prefect server exited:\n{log.read_text(errors='replace')[-3000:]}"
        with suppress(httpx.HTTPError):
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        return False

    try:
        wait_for(healthy, 120, "the Prefect server's /api/health", log)
        yield url
    finally:
        stop(server)
