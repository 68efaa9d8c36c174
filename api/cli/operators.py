"""Verbs on operators of the admin API: `operator token create`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.cli.shared import administration
from models.core.config import Settings


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


def _operator_token_create(args: argparse.Namespace, settings: Settings) -> None:
    token = administration(settings).create_operator_token(args.name)
    print(f"SCIMGATE_OPERATOR_TOKEN={token['token']}")
    print("shown once: store it now; it opens the admin API under /admin/v1", file=sys.stderr)
