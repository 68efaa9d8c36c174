"""The production processes, started for real: gunicorn, Dramatiq workers, the clock, the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from api.dev import free_port, gunicorn_command

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_until(
    condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2, what: str = ""
) -> Any:
    """Poll until `condition()` is truthy and return it; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}: {last!r}")


def listening(port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts connections on this loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class Stack:
    """One deployment on this machine: web, workers and clock on a given database and Redis."""

    def __init__(self, database_url: str, redis_url: str, log_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "SCIMGATE_DATABASE_URL": database_url,
            "SCIMGATE_REDIS_URL": redis_url,
            "SCIMGATE_PUBLIC_URL": self.base,
            "PORT": str(self.port),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.metrics_ports: dict[str, int] = {}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "scimgate"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"scimgate {' '.join(args)} failed: {result.stderr}")
        return result

    def connect_sso(self, organization: str) -> None:
        """Register a sample SAML IdP: SCIM cannot be enabled without an SSO connection."""
        from tests.support.saml import idp_metadata

        metadata = self.log_dir / f"{organization}-idp-metadata.xml"
        metadata.write_text(idp_metadata())
        self.cli("sso", "set", organization, str(metadata))

    def roster(self, organization: str) -> dict[str, dict[str, Any]]:
        members = json.loads(self.cli("roster", organization, "--json").stdout)
        return {member["email"]: member for member in members}

    def start(
        self, name: str, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (lives as long as the process)
        process = subprocess.Popen(
            command,
            env={**self.env, **(env or {})},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_web(
        self,
        name: str = "web",
        workers: int | None = 2,
        app: str = "api.wsgi:app",
        options: tuple[str, ...] = (),
        ready_timeout: float = 30,
    ) -> None:
        """gunicorn on deploy/gunicorn.conf.py; `workers=None` keeps the configuration's count.

        Its metrics listener gets a port of its own, in `metrics_ports[name]`."""
        sized = () if workers is None else ("--workers", str(workers))
        self.metrics_ports[name] = free_port()
        self.start(
            name,
            gunicorn_command(f"127.0.0.1:{self.port}", *sized, *options, app=app),
            env={
                "SCIMGATE_WEB_METRICS_PORT": str(self.metrics_ports[name]),
                "SCIMGATE_WEB_METRICS_HOST": "127.0.0.1",
            },
        )
        wait_until(self._healthy, timeout=ready_timeout, what="gunicorn to answer /healthz")
        wait_until(
            lambda: self._answers(self.metrics_url(name)),
            timeout=ready_timeout,
            what="gunicorn's metrics listener to answer",
        )

    def start_worker(self, name: str = "worker", processes: int = 1, threads: int = 2) -> None:
        """`scimgate worker`, as the Procfile runs it, its metrics on a port of its own."""
        self.metrics_ports[name] = free_port()
        self.start(
            name,
            [
                str(BIN / "scimgate"),
                "worker",
                "--processes",
                str(processes),
                "--threads",
                str(threads),
            ],
            env={"SCIMGATE_WORKER_METRICS_PORT": str(self.metrics_ports[name])},
        )

    def metrics_url(self, name: str = "web") -> str:
        """Where the process started as `name` (gunicorn or `scimgate worker`) serves metrics."""
        return f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"

    def start_clock(self, name: str = "clock") -> None:
        self.start(name, [str(BIN / "scimgate"), "clock"])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.log_dir.glob("*.log"))
        )

    def _healthy(self) -> bool:
        return self._answers(f"{self.base}/healthz")

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
