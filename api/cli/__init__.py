"""The `scimgate` command: operators' verbs over the same domain code the HTTP API uses.

One module per noun registers its verbs and holds their handlers; `shared` is what they
have in common (the database, Administration, argument types, JSON output).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from api.cli import operators, organizations, processes, roster, scim, sso, webhooks
from api.cli.shared import CommandError, close_databases
from models.core.config import Settings
from models.core.errors import DomainError

NOUNS = (processes, organizations, sso, scim, roster, operators, webhooks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every plugin it loads at INFO; operators only need its migrations.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        return args.handler(args, Settings.from_env()) or 0
    except (CommandError, DomainError, ValueError) as error:
        print(f"scimgate: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`scimgate events ORG | head`): stop quietly, as `cat` would.
        # Whatever is still buffered for stdout goes nowhere, not into a second traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        close_databases()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimgate", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, handler: Callable[..., Any], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    for noun in NOUNS:
        noun.register(commands, command)
    return parser
