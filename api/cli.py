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

    reconcile = command("reconcile", _reconcile, "apply the organization's pending changes now")
    reconcile.add_argument("org")
    reconcile.add_argument(
        "--full", action="store_true", help="compare every user with the roster and repair drift"
    )
    status = command("status", _status, "pending changes, backlog, last reconcile, deliveries")
    status.add_argument("org")
    status.add_argument("--json", action="store_true", help="print JSON")

    webhook = commands.add_parser("webhook", help="event delivery").add_subparsers(metavar="ACTION")
    webhook_add = webhook.add_parser("add", help="send the organization's events to a URL")
    webhook_add.add_argument("org")
    webhook_add.add_argument("url")
    webhook_add.set_defaults(handler=_webhook_add)
    webhook_status = webhook.add_parser("status", help="each endpoint's progress and failures")
    webhook_status.add_argument("org")
    webhook_status.add_argument("--json", action="store_true", help="print JSON")
    webhook_status.set_defaults(handler=_webhook_status)
    webhook_replay = webhook.add_parser("replay", help="deliver events again from a sequence")
    webhook_replay.add_argument("org")
    webhook_replay.add_argument("--from", dest="from_sequence", type=int, required=True)
    webhook_replay.set_defaults(handler=_webhook_replay)

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


def _reconcile(args: argparse.Namespace, settings: Settings) -> None:
    from models.roster import full_reconcile, reconcile_organization

    database = _database(settings)
    with database.reading() as session:
        organization_id = get_organization(session, args.org).id
    apply = full_reconcile if args.full else reconcile_organization
    result = apply(database, organization_id, settings.reconcile_batch_size)
    kind = "full reconcile" if args.full else "reconcile"
    print(
        f"{kind} of {args.org}: {result.rows_applied} users compared, "
        f"{result.events_appended} events"
    )
    if result.events_appended and settings.redis_url:
        from workers import runtime
        from workers.webhooks import notify_endpoints

        runtime.configure(settings, database)
        notify_endpoints(organization_id)


def _status(args: argparse.Namespace, settings: Settings) -> None:
    from models.status import organization_status

    with _database(settings).reading() as session:
        status = organization_status(session, get_organization(session, args.org)).as_dict()
    status["queue_backlog"] = _queue_backlog(settings)
    if args.json:
        _print_json(status)
        return
    for key, value in status.items():
        print(f"{key.replace('_', ' '):<28} {value if value is not None else '-'}")


def _queue_backlog(settings: Settings) -> int | None:
    """Jobs waiting in Redis, or None when Redis is not configured or not answering."""
    if not settings.redis_url:
        return None
    import redis

    from workers.broker import queue_backlog, setup_broker

    try:
        return queue_backlog(setup_broker(settings))
    except (redis.RedisError, OSError):
        return None


def _webhook_add(args: argparse.Namespace, settings: Settings) -> None:
    from models.webhooks import add_endpoint

    with _database(settings).writing() as session:
        endpoint_id, secret = add_endpoint(session, get_organization(session, args.org), args.url)
    print(f"WEBHOOK_ID={endpoint_id}")
    print(f"WEBHOOK_SECRET={secret}")
    print("Keep the secret: it is shown once. Verify each delivery's Scimgate-Signature with it.")


def _webhook_status(args: argparse.Namespace, settings: Settings) -> None:
    from models.webhooks import endpoints_of

    with _database(settings).reading() as session:
        organization = get_organization(session, args.org)
        endpoints = [
            {
                "id": endpoint.id,
                "url": endpoint.url,
                "delivered_sequence": endpoint.delivered_sequence,
                "undelivered": organization.event_sequence - endpoint.delivered_sequence,
                "consecutive_failures": endpoint.consecutive_failures,
                "failing_since": _iso(endpoint.failing_since),
                "last_error": endpoint.last_error,
                "last_success_at": _iso(endpoint.last_success_at),
            }
            for endpoint in endpoints_of(session, organization.id)
        ]
    if args.json:
        _print_json(endpoints)
        return
    for endpoint in endpoints:
        state = "ok"
        if endpoint["failing_since"]:
            state = f"FAILING since {endpoint['failing_since']}: {endpoint['last_error']}"
        progress = f"delivered up to {endpoint['delivered_sequence']}"
        print(f"{endpoint['id']:>4} {endpoint['url']}  {progress} "
              f"({endpoint['undelivered']} behind)  {state}")  # fmt: skip


def _webhook_replay(args: argparse.Namespace, settings: Settings) -> None:
    from models.webhooks import replay

    with _database(settings).writing() as session:
        endpoint_ids = replay(session, get_organization(session, args.org).id, args.from_sequence)
    if settings.redis_url:
        from workers.webhooks import deliver

        for endpoint_id in endpoint_ids:
            deliver.send(endpoint_id)
    print(f"replaying events from {args.from_sequence} to {len(endpoint_ids)} endpoint(s)")


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


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
