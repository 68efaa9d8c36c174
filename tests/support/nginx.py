"""nginx from Debian's package in front of a test deployment, on the config we ship."""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
from pathlib import Path

import pytest

from api.dev import free_port
from tests.support.processes import ROOT, listening, wait_until
from tests.support.services import IN_CI

TEMPLATE = ROOT / "deploy" / "nginx" / "scimgate.conf.template"
MISSING = "nginx is not installed (.ci/run installs Debian's nginx)"


def find_nginx() -> str:
    """The nginx binary (Debian puts it in /usr/sbin); fails in CI, skips elsewhere."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found:
        return found
    if IN_CI:
        pytest.fail(MISSING)
    pytest.skip(MISSING)
    raise AssertionError(MISSING)


def template_variables() -> set[str]:
    """The names the template expects its environment to set."""
    return set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text()))


def render(values: dict[str, str]) -> str:
    """The shipped template as the nginx image renders it: envsubst, of `values` only.

    Like envsubst given a list of names, `string.Template.safe_substitute` leaves every other
    `$name` alone: those are nginx's own variables.
    """
    assert values.keys() == template_variables(), values
    return string.Template(TEMPLATE.read_text()).safe_substitute(values)


class NginxProxy:
    """A foreground nginx, its prefix, logs and temporary files all under `directory`."""

    def __init__(self, upstream: str, directory: Path) -> None:
        self.binary = find_nginx()
        self.port = free_port()
        self.directory = directory
        self.upstream = upstream
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NginxProxy:
        self.directory.mkdir(parents=True, exist_ok=True)
        rendered = render(
            {"SCIMGATE_UPSTREAM": self.upstream, "NGINX_PORT": f"127.0.0.1:{self.port}"}
        )
        (self.directory / "scimgate.conf").write_text(rendered)
        # The http block the nginx image's own nginx.conf provides, reduced to what a test
        # needs: workers run as whoever started nginx, and write only under the prefix.
        run_as = "user root;\n" if os.geteuid() == 0 else ""
        temp = {name: self.directory / name for name in ("body", "proxy", "fcgi", "uwsgi", "scgi")}
        (self.directory / "nginx.conf").write_text(
            f"{run_as}worker_processes 1;\n"
            f"pid {self.directory / 'nginx.pid'};\n"
            f"error_log {self.directory / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "  access_log off;\n"
            f"  client_body_temp_path {temp['body']};\n"
            f"  proxy_temp_path {temp['proxy']};\n"
            f"  fastcgi_temp_path {temp['fcgi']};\n"
            f"  uwsgi_temp_path {temp['uwsgi']};\n"
            f"  scgi_temp_path {temp['scgi']};\n"
            f"  include {self.directory / 'scimgate.conf'};\n"
            "}\n"
        )
        with (self.directory / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "-p",
                    str(self.directory),
                    "-c",
                    str(self.directory / "nginx.conf"),
                    "-g",
                    "daemon off;",
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        wait_until(self._listening, timeout=10, what="nginx to listen")
        return self

    def stop(self) -> None:
        """Stop at once (SIGTERM): a graceful stop would wait for the slow clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = (self.directory / "stderr.log").read_text(errors="replace")
            raise AssertionError(f"nginx exited with {self.process.returncode}: {log}")
        return listening(self.port)
