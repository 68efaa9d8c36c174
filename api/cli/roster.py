"""Verbs on the roster and what it records.

`jit`, `roster`, `teams`, `events`, `audit`, `reconcile`, `status`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from api.cli.shared import administration, connect, show, whole
from models.audit.trail import Actor, AuditRecordView
from models.core.config import Settings
from models.core.limits import MAX_BIGINT, MAX_INTEGER
from models.events.log import EventView
from models.roster.reconcile import MemberView


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    jit = command("jit", _jit, "provision a member just in time, as an SSO login would")
    jit.add_argument("org")
    jit.add_argument("email")
    jit.add_argument("--given-name")
    jit.add_argument("--family-name")
    jit.add_argument("--display-name")
    jit.add_argument("--json", action="store_true", help="print JSON")

    audit = command("audit", _audit, "the organization's audit trail")
    audit.add_argument("org")
    audit.add_argument(
        "--after", type=whole(MAX_BIGINT), default=0, help="only records after this id"
    )
    audit.add_argument("--limit", type=whole(MAX_INTEGER), default=100)
    audit.add_argument("--json", action="store_true", help="print JSON")

    roster = command("roster", _roster, "the organization's members")
    roster.add_argument("org")
    roster.add_argument("--json", action="store_true", help="print JSON")
    teams = command("teams", _teams, "the organization's teams and their members")
    teams.add_argument("org")
    teams.add_argument("--json", action="store_true", help="print JSON")
    events = command("events", _events, "the organization's events")
    events.add_argument("org")
    events.add_argument(
        "--after", type=whole(MAX_INTEGER), default=0, help="only events after this sequence"
    )
    events.add_argument("--limit", type=whole(MAX_INTEGER), default=1000)
    events.add_argument("--json", action="store_true", help="print JSON")

    reconcile = command("reconcile", _reconcile, "apply the organization's pending changes now")
    reconcile.add_argument("org")
    reconcile.add_argument(
        "--full", action="store_true", help="compare every user with the roster and repair drift"
    )
    status = command("status", _status, "pending changes, backlog, last reconcile, deliveries")
    status.add_argument("org")
    status.add_argument("--json", action="store_true", help="print JSON")


def _jit(args: argparse.Namespace, settings: Settings) -> None:
    result = administration(settings).provision_jit(
        Actor.command_line(),
        args.org,
        args.email,
        given_name=args.given_name,
        family_name=args.family_name,
        display_name=args.display_name,
    )
    line = f"{result['email']}: {result['outcome']} ({result['status']}, source {result['source']})"
    show(args, result, [line])


def _audit(args: argparse.Namespace, settings: Settings) -> None:
    records = administration(settings).audit(args.org, args.after, args.limit)
    show(args, records, map(audit_line, records))


def audit_line(record: AuditRecordView) -> str:
    what = f"{record['method']} {record['path']} {record['status']}" if record["method"] else ""
    return (
        f"{record['id']:>7} {record['occurred_at']} {record['actor']:<28} "
        f"{record['action']:<24} {record['target'] or '':<38} {what}".rstrip()
    )


def _roster(args: argparse.Namespace, settings: Settings) -> None:
    members = administration(settings).roster(args.org)
    show(args, members, map(_member_line, members))


def _member_line(member: MemberView) -> str:
    reason = f"  ({member['status_reason']})" if member["status_reason"] else ""
    return (
        f"{member['email']:<40} {member['status']:<12} {member['role']:<8} "
        f"{member['source']}{reason}"
    )


def _teams(args: argparse.Namespace, settings: Settings) -> None:
    teams = administration(settings).teams(args.org)
    show(args, teams, (f"{team['name']:<40} {len(team['members']):>6} members" for team in teams))


def _events(args: argparse.Namespace, settings: Settings) -> None:
    admin, after = administration(settings), args.after
    payloads: list[EventView] = []
    # The feed serves pages; follow them until the limit or the end of the log.
    while len(payloads) < args.limit:
        page = admin.events(args.org, after, args.limit - len(payloads))
        if not page:
            break
        payloads += page
        after = page[-1]["sequence"]
    show(args, payloads, map(_event_line, payloads))


def _event_line(event: EventView) -> str:
    subject = event["data"].get("email") or event["data"].get("team", "")
    return f"{event['sequence']:>6} {event['type']:<20} {subject}"


def _reconcile(args: argparse.Namespace, settings: Settings) -> None:
    result = administration(settings).reconcile(
        Actor.command_line(), args.org, full=args.full, batch_size=settings.reconcile_batch_size
    )
    kind = "full reconcile" if args.full else "reconcile"
    print(
        f"{kind} of {args.org}: {result['rows_applied']} users compared, "
        f"{result['events_appended']} events"
    )
    if result["events_appended"] and settings.redis_url:
        from workers import runtime
        from workers.broker import setup_broker
        from workers.webhooks import notify_endpoints

        setup_broker(settings)
        runtime.configure(settings, connect(settings))
        notify_endpoints(result["organization_id"])


def _status(args: argparse.Namespace, settings: Settings) -> None:
    status = administration(settings).status(args.org)
    shown: dict[str, Any] = {**status, "queue_backlog": _queue_backlog(settings)}
    members = ", ".join(f"{count} {state}" for state, count in status["members"].items())
    values = {**shown, "members": members}
    show(args, shown, (f"{key.replace('_', ' '):<28} {_or_dash(v)}" for key, v in values.items()))


def _or_dash(value: Any) -> Any:
    return "-" if value is None else value


def _queue_backlog(settings: Settings) -> int | None:
    """Jobs waiting in Redis, or None when Redis is not configured or not answering."""
    if not settings.redis_url:
        return None
    import redis

    from api.app import redis_client
    from workers.metrics import queue_backlog

    client = redis_client(settings.redis_url)
    try:
        return queue_backlog(client)
    except (redis.RedisError, OSError):
        return None
    finally:
        client.close()
