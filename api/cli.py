"""The `scimgate` command: operators' verbs over the same domain code the HTTP API uses."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from models.config import Settings
from models.db import Database
from models.errors import DomainError
from models.events import event_payload, events_after
from models.organizations import (
    add_verified_domain,
    create_organization,
    disable_scim,
    enable_scim,
    get_organization,
)
from models.roster import roster_of


class CommandError(Exception):
    """A failure to report as one line on stderr, with a non-zero exit."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scimgate", description=__doc__)
    commands = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, handler: Callable[..., Any], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    db = commands.add_parser("db", help="database schema").add_subparsers(metavar="ACTION")
    db.add_parser("upgrade", help="apply every migration").set_defaults(handler=_db_upgrade)

    org = commands.add_parser("org", help="organizations").add_subparsers(metavar="ACTION")
    create = org.add_parser("create", help="create an organization")
    create.add_argument("slug")
    create.add_argument("--name", required=True)
    create.add_argument("--domain", action="append", default=[], help="a verified domain")
    create.set_defaults(handler=_org_create)

    scim = commands.add_parser("scim", help="SCIM provisioning").add_subparsers(metavar="ACTION")
    enable = scim.add_parser("enable", help="turn SCIM on and print a new token")
    enable.add_argument("org")
    enable.set_defaults(handler=_scim_enable)
    disable = scim.add_parser("disable", help="turn SCIM off; members stay")
    disable.add_argument("org")
    disable.set_defaults(handler=_scim_disable)

    roster = command("roster", _roster, "the organization's members")
    roster.add_argument("org")
    roster.add_argument("--json", action="store_true", help="print JSON")
    events = command("events", _events, "the organization's events")
    events.add_argument("org")
    events.add_argument("--after", type=int, default=0, help="only events after this sequence")
    events.add_argument("--limit", type=int, default=1000)
    events.add_argument("--json", action="store_true", help="print JSON")

    command("dev", _dev, "run everything locally: Redis, web, worker and clock")
    command("clock", _clock, "run the clock (exactly one per deployment)")
    return parser


def _database(settings: Settings) -> Database:
    return Database.from_url(settings.database_url, pool_size=2)


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> None:
    from models.migrate import upgrade

    upgrade(settings.database_url)
    print("database is up to date")


def _org_create(args: argparse.Namespace, settings: Settings) -> None:
    with _database(settings).writing() as session:
        organization = create_organization(session, args.slug, args.name)
        for domain in args.domain:
            add_verified_domain(session, organization, domain, verified_by="operator (cli)")
    print(f"created organization {args.slug}")


def _scim_enable(args: argparse.Namespace, settings: Settings) -> None:
    with _database(settings).writing() as session:
        token = enable_scim(session, get_organization(session, args.org))
    print_scim_credentials(settings.scim_base_url(args.org), token)


def print_scim_credentials(base_url: str, token: str) -> None:
    print(f"SCIM_BASE_URL={base_url}")
    print(f"SCIM_TOKEN={token}")


def _scim_disable(args: argparse.Namespace, settings: Settings) -> None:
    with _database(settings).writing() as session:
        disable_scim(session, get_organization(session, args.org))
    print(f"SCIM is off for {args.org}; its tokens are revoked and its members stay")


def _roster(args: argparse.Namespace, settings: Settings) -> None:
    with _database(settings).reading() as session:
        members = roster_of(session, get_organization(session, args.org).id)
    if args.json:
        _print_json(members)
        return
    for member in members:
        print(
            f"{member['email']:<40} {member['status']:<12} {member['role']:<8} {member['source']}"
        )


def _events(args: argparse.Namespace, settings: Settings) -> None:
    with _database(settings).reading() as session:
        organization = get_organization(session, args.org)
        found = events_after(session, organization.id, args.after, args.limit)
        payloads = [event_payload(event, organization.slug) for event in found]
    if args.json:
        _print_json(payloads)
        return
    for event in payloads:
        print(f"{event['sequence']:>6} {event['type']:<20} {event['data'].get('email', '')}")


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from api.dev import run_dev

    return run_dev(settings)


def _clock(args: argparse.Namespace, settings: Settings) -> None:
    from workers.clock import run_clock

    run_clock()


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    sys.exit(main())
