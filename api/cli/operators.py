"""Verbs on operators of the admin API: `operator token create`, `operator audit`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.cli.roster import audit_line
from api.cli.shared import administration, show, whole
from models.audit.trail import Actor
from models.core.config import Settings
from models.core.limits import MAX_BIGINT, MAX_INTEGER


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    operator = commands.add_parser("operator", help="admin API operators").add_subparsers(
        metavar="ACTION"
    )
    operator_token = operator.add_parser("token", help="operator tokens").add_subparsers(
        metavar="ACTION"
    )
    token_create = operator_token.add_parser("create", help="print a new operator token once")
    token_create.add_argument("name")
    token_create.set_defaults(handler=_operator_token_create)
    audit = operator.add_parser(
        "audit", help="the deployment's own audit trail: actions on no organization"
    )
    audit.add_argument(
        "--after", type=whole(MAX_BIGINT), default=0, help="only records after this id"
    )
    audit.add_argument("--limit", type=whole(MAX_INTEGER), default=100)
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.set_defaults(handler=_operator_audit)


def _operator_token_create(args: argparse.Namespace, settings: Settings) -> None:
    token = administration(settings).create_operator_token(Actor.command_line(), args.name)
    print(f"SCIMGATE_OPERATOR_TOKEN={token['token']}")
    print("shown once: store it now; it opens the admin API under /admin/v1", file=sys.stderr)


def _operator_audit(args: argparse.Namespace, settings: Settings) -> None:
    records = administration(settings).deployment_audit(args.after, args.limit)
    show(args, records, map(audit_line, records))
