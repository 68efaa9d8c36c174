"""Every CLI verb that changes something leaves an audit record naming the operator.

The walk starts from the parser itself, so a verb added without being classified here
fails the test, and a verb classified as a change that writes no record fails it too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from api.cli import build_parser, main
from models.audit.tables import AuditRecord
from models.core.db import Database
from models.organizations.rules import create_organization
from tests.support.processes import ROOT
from tests.support.saml import idp_metadata


def verbs(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every runnable command of the parser, as its words: ("scim", "enable"), ("roster",)."""
    found: set[tuple[str, ...]] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= verbs(sub, (*prefix, name))
    if not found and prefix:
        found.add(prefix)
    return found


# In the order they run; each is a change an operator makes, and must be audited.
CHANGES: list[tuple[str, ...]] = [
    ("org", "create", "acme", "--name", "Acme", "--domain", "acme.com"),
    ("org", "set", "acme", "--seat-limit", "10"),
    ("domain", "add", "acme", "acme.org"),
    ("domain", "verify", "acme", "acme.org", "--force-verify", "--reason", "owned by acme"),
    ("domain", "remove", "acme", "acme.org"),
    ("sso", "set", "acme", "{metadata}"),
    ("jit", "acme", "ada@acme.com"),
    ("scim", "enable", "acme"),
    ("scim", "rotate", "acme"),
    ("scim", "revoke", "acme", "{prefix}"),
    ("reconcile", "acme"),
    ("webhook", "add", "acme", "https://hooks.example.com/in"),
    ("webhook", "replay", "acme", "--from", "1"),
    ("scim", "disable", "acme"),
    ("sso", "remove", "acme"),
    ("operator", "token", "create", "bob"),
]
# Verbs that only read, or run a process; none changes what the audit trail is about.
READS = {
    ("org", "list"),
    ("org", "show"),
    ("domain", "list"),
    ("sso", "show"),
    ("scim", "tokens"),
    ("audit",),
    ("roster",),
    ("teams",),
    ("events",),
    ("status",),
    ("webhook", "status"),
    ("operator", "audit"),
}
PROCESSES = {("db", "upgrade"), ("dev",), ("clock",), ("alive",), ("worker",)}
VERBS = verbs(build_parser())


def words(command: tuple[str, ...]) -> tuple[str, ...]:
    """The verb of a command line: its words before the first argument that is not one."""
    for length in range(len(command), 0, -1):
        if command[:length] in VERBS:
            return command[:length]
    raise AssertionError(f"{command} is no verb of scimgate")


def test_every_verb_is_classified():
    classified = {words(c) for c in CHANGES} | READS | PROCESSES

    assert classified == VERBS


def test_every_change_from_the_cli_is_audited_with_the_operator(
    database_url: str,
    database: Database,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("SCIMGATE_REDIS_URL", redis_url)
    metadata = tmp_path / "idp.xml"
    metadata.write_text(idp_metadata())
    fields = {"metadata": str(metadata), "prefix": ""}

    def records() -> list[tuple[str, str]]:
        with database.reading() as session:
            return list(
                session.execute(
                    select(AuditRecord.actor, AuditRecord.action).order_by(AuditRecord.id)
                )
            )

    for command in CHANGES:
        before = len(records())
        args = [part.format(**fields) for part in command]
        assert main(args) == 0, f"scimgate {' '.join(args)}: {capsys.readouterr().err}"
        out = capsys.readouterr().out
        if command[:2] == ("scim", "enable"):
            fields["prefix"] = out.split("SCIM_TOKEN=scimgate_")[1][:8]
        added = records()[before:]

        assert added, f"scimgate {' '.join(args)} left no audit record"
        assert all(actor.startswith("cli ") for actor, _ in added), added


def test_a_closed_pipe_ends_the_command_quietly(
    database_url: str, database: Database, redis_url: str
):
    # Given more organizations than a pipe holds (64 KiB) once listed
    with database.writing() as session:
        for index in range(1500):
            create_organization(session, f"org-{index:04}", f"Organization number {index}")
    env = os.environ | {"SCIMGATE_DATABASE_URL": database_url, "SCIMGATE_REDIS_URL": redis_url}

    # When a reader takes one byte and leaves (`scimgate org list | head -c 1`)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from api.cli import main; sys.exit(main())",
            "org",
            "list",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert writer.stdout is not None
    assert writer.stdout.read(1) == b"o"
    writer.stdout.close()
    _, err = writer.communicate(timeout=60)

    # Then the command stops as SIGPIPE would have stopped it, and says nothing
    assert err == b""
    assert writer.returncode == 128 + signal.SIGPIPE


def test_the_deployment_s_own_trail_holds_operator_tokens_created(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SCIMGATE_DATABASE_URL", database_url)
    assert main(["operator", "token", "create", "carol"]) == 0
    capsys.readouterr()

    assert main(["operator", "audit", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)

    assert [(r["action"], r["details"]) for r in records] == [
        ("operator_token.created", {"name": "carol"})
    ]
    assert records[0]["actor"].startswith("cli ")
    assert records[0]["target"] and "scimgate" not in records[0]["target"]
