"""The `scimgate` command: operators' verbs over the same domain code the HTTP API uses."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import orjson

from models.admin.administration import Administration
from models.audit.trail import Actor
from models.core.config import Settings
from models.core.db import Database
from models.core.errors import DomainError
from models.core.limits import MAX_BIGINT, MAX_DURATION, MAX_INTEGER, MAX_SEAT_LIMIT, whole_number
from models.organizations.domains import DnsTxtLookup
from models.sso.connections import MAX_METADATA_BYTES

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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
    except BrokenPipeError:
        # The reader went away (`scimgate events ORG | head`): stop quietly, as `cat` would.
        # Whatever is still buffered for stdout goes nowhere, not into a second traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    finally:
        _close_databases()


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
    create.add_argument(
        "--domain",
        action="append",
        default=[],
        help="a domain to mark verified (an audited operator override)",
    )
    create.set_defaults(handler=_org_create)
    org_list = org.add_parser("list", help="every organization")
    org_list.add_argument("--json", action="store_true", help="print JSON")
    org_list.set_defaults(handler=_org_list)
    show = org.add_parser("show", help="domains, SSO, SCIM, settings and status of one")
    show.add_argument("org")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=_org_show)
    settings = org.add_parser("set", help="change JIT and seat settings")
    settings.add_argument("org")
    settings.add_argument("--jit", choices=["on", "off"], help="JIT provisioning on SSO login")
    settings.add_argument(
        "--jit-with-scim", choices=["on", "off"], help="JIT also while SCIM is on"
    )
    settings.add_argument("--seat-limit", help="a number of seats, or 'none'")
    settings.set_defaults(handler=_org_set)

    domain = commands.add_parser("domain", help="email domains").add_subparsers(metavar="ACTION")
    add = domain.add_parser("add", help="add a domain and print the TXT record to publish")
    add.add_argument("org")
    add.add_argument("domain")
    add.add_argument("--json", action="store_true", help="print JSON")
    add.set_defaults(handler=_domain_add)
    verify = domain.add_parser("verify", help="verify a domain by its DNS TXT record")
    verify.add_argument("org")
    verify.add_argument("domain")
    verify.add_argument(
        "--force-verify",
        action="store_true",
        help="operator override: mark it verified without DNS (needs --reason; audited)",
    )
    verify.add_argument("--reason", help="why the override is right, for the audit trail")
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.set_defaults(handler=_domain_verify)
    domain_list = domain.add_parser("list", help="the organization's domains")
    domain_list.add_argument("org")
    domain_list.add_argument("--json", action="store_true", help="print JSON")
    domain_list.set_defaults(handler=_domain_list)
    remove = domain.add_parser("remove", help="remove a domain; its members stay")
    remove.add_argument("org")
    remove.add_argument("domain")
    remove.set_defaults(handler=_domain_remove)

    sso = commands.add_parser("sso", help="the SAML SSO connection").add_subparsers(
        metavar="ACTION"
    )
    sso_set = sso.add_parser("set", help="register or replace the IdP from its metadata XML")
    sso_set.add_argument("org")
    sso_set.add_argument("metadata", help="the IdP's SAML metadata file, or - for stdin")
    sso_set.add_argument("--json", action="store_true", help="print JSON")
    sso_set.set_defaults(handler=_sso_set)
    sso_show = sso.add_parser("show", help="the registered IdP")
    sso_show.add_argument("org")
    sso_show.add_argument("--json", action="store_true", help="print JSON")
    sso_show.set_defaults(handler=_sso_show)
    sso_remove = sso.add_parser("remove", help="remove the IdP; SCIM that is on stays on")
    sso_remove.add_argument("org")
    sso_remove.set_defaults(handler=_sso_remove)

    scim = commands.add_parser("scim", help="SCIM provisioning").add_subparsers(metavar="ACTION")
    enable = scim.add_parser("enable", help="turn SCIM on and print a new token")
    enable.add_argument("org")
    enable.add_argument("--expires-in", type=_duration, help="token lifetime, e.g. 90d")
    enable.set_defaults(handler=_scim_enable)
    disable = scim.add_parser("disable", help="turn SCIM off; members stay")
    disable.add_argument("org")
    disable.set_defaults(handler=_scim_disable)
    rotate = scim.add_parser("rotate", help="print a new token; old ones work for --grace")
    rotate.add_argument("org")
    rotate.add_argument(
        "--grace", type=_duration, default=timedelta(hours=24), help="e.g. 30m, 24h (default)"
    )
    rotate.add_argument("--expires-in", type=_duration, help="new token's lifetime, e.g. 90d")
    rotate.set_defaults(handler=_scim_rotate)
    tokens = scim.add_parser("tokens", help="the organization's SCIM tokens (prefixes only)")
    tokens.add_argument("org")
    tokens.add_argument("--json", action="store_true", help="print JSON")
    tokens.set_defaults(handler=_scim_tokens)
    revoke = scim.add_parser("revoke", help="revoke one SCIM token by its prefix, at once")
    revoke.add_argument("org")
    revoke.add_argument("prefix")
    revoke.set_defaults(handler=_scim_revoke)

    jit = command("jit", _jit, "provision a member just in time, as an SSO login would")
    jit.add_argument("org")
    jit.add_argument("email")
    jit.add_argument("--given-name")
    jit.add_argument("--family-name")
    jit.add_argument("--display-name")
    jit.add_argument("--json", action="store_true", help="print JSON")

    operator = commands.add_parser("operator", help="admin API operators").add_subparsers(
        metavar="ACTION"
    )
    operator_token = operator.add_parser("token", help="operator tokens").add_subparsers(
        metavar="ACTION"
    )
    token_create = operator_token.add_parser("create", help="print a new operator token once")
    token_create.add_argument("name")
    token_create.set_defaults(handler=_operator_token_create)

    audit = command("audit", _audit, "the organization's audit trail")
    audit.add_argument("org")
    audit.add_argument(
        "--after", type=_whole(MAX_BIGINT), default=0, help="only records after this id"
    )
    audit.add_argument("--limit", type=_whole(MAX_INTEGER), default=100)
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
        "--after", type=_whole(MAX_INTEGER), default=0, help="only events after this sequence"
    )
    events.add_argument("--limit", type=_whole(MAX_INTEGER), default=1000)
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
    webhook_replay.add_argument(
        "--from", dest="from_sequence", type=_whole(MAX_INTEGER), required=True
    )
    webhook_replay.set_defaults(handler=_webhook_replay)

    command("dev", _dev, "run everything locally: Redis, web, worker and clock")
    command("clock", _clock, "run the clock (exactly one per deployment)")
    alive = command("alive", _alive, "exit 0 if this container's clock loop turned lately")
    alive.add_argument("--max-age", type=float, default=30.0, help="seconds")
    worker = command("worker", _worker, "run Dramatiq workers with metrics and JSON logs")
    worker.add_argument("--processes", type=int, default=2, help="worker processes")
    worker.add_argument("--threads", type=int, default=4, help="threads per worker process")
    worker.add_argument("--queues", nargs="*", default=[], help="only these queues")
    return parser


# One engine per database URL for the life of a command, disposed when the command ends.
_databases: dict[str, Database] = {}


def _database(settings: Settings) -> Database:
    if settings.database_url not in _databases:
        if settings.redis_url:
            _invalidate_cached_credentials_on_change(settings.redis_url)
        _databases[settings.database_url] = Database.from_url(settings.database_url, pool_size=2)
    return _databases[settings.database_url]


def _invalidate_cached_credentials_on_change(redis_url: str) -> None:
    """Web processes cache authentications; a revocation made here must reach them at once."""
    import redis

    from api.authentication import CredentialsEpoch, invalidate_on_revocation

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    invalidate_on_revocation(CredentialsEpoch(client))


def _close_databases() -> None:
    while _databases:
        _databases.popitem()[1].dispose()


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> None:
    from models.migrate import upgrade

    upgrade(settings.database_url)
    print("database is up to date")


def _administration(settings: Settings) -> Administration:
    return Administration(
        _database(settings),
        DnsTxtLookup(settings.dns_resolver, settings.dns_timeout_seconds),
        settings.scim_base_url,
    )


def _duration(text: str) -> timedelta:
    """A duration such as 90s, 15m, 24h, 7d, or a bare number of seconds."""
    raw = text.strip().lower()
    unit = DURATION_UNITS.get(raw[-1:])
    number = raw[:-1] if unit else raw
    if not (number.isascii() and number.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 24h or 7d")
    # More digits than ten years of seconds has is too long before int() need see them.
    digits = number.lstrip("0") or "0"
    limit = int(MAX_DURATION.total_seconds())
    if len(digits) > len(str(limit)) or int(digits) * (unit or 1) > limit:
        raise argparse.ArgumentTypeError(f"{text!r} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=int(digits) * (unit or 1))


def _whole(maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 0 to `maximum`, the range the API takes too."""

    def whole(text: str) -> int:
        value = whole_number(text, 0, maximum)
        if value is None:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0 to {maximum}")
        return value

    return whole


def _on_off(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def _org_create(args: argparse.Namespace, settings: Settings) -> None:
    _administration(settings).create_organization(
        Actor.command_line(), args.slug, args.name, args.domain
    )
    print(f"created organization {args.slug}")
    for domain in args.domain:
        print(f"  {domain}: verified by operator override (recorded in the audit trail)")


def _org_list(args: argparse.Namespace, settings: Settings) -> None:
    organizations = _administration(settings).list_organizations()
    if args.json:
        _print_json(organizations)
        return
    for organization in organizations:
        scim = "SCIM on" if organization["scim_enabled"] else "SCIM off"
        print(f"{organization['slug']:<30} {scim:<9} {organization['name']}")


def _org_show(args: argparse.Namespace, settings: Settings) -> None:
    view = _administration(settings).organization(args.org)
    if args.json:
        _print_json(view)
        return
    print(f"{view['slug']}: {view['name']}")
    print("domains:")
    for domain in view["domains"]:
        print(f"  {_domain_line(domain)}")
    sso = view["sso"]
    print(f"sso: {sso['entity_id'] + ' at ' + sso['sso_url'] if sso else 'none'}")
    _print_scim(view["scim"])
    settings_view = view["settings"]
    seat_limit = settings_view["seat_limit"]
    print(
        f"jit: {'on' if settings_view['jit_enabled'] else 'off'}, "
        f"with SCIM: {'on' if settings_view['jit_with_scim'] else 'off'}, "
        f"seat limit: {'none' if seat_limit is None else seat_limit}"
    )
    _print_status(view["status"])


def _org_set(args: argparse.Namespace, settings: Settings) -> None:
    changes: dict[str, Any] = {
        "jit_enabled": _on_off(args.jit),
        "jit_with_scim": _on_off(args.jit_with_scim),
    }
    if args.seat_limit is not None:
        if args.seat_limit.lower() == "none":
            changes["clear_seat_limit"] = True
        else:
            try:
                changes["seat_limit"] = _whole(MAX_SEAT_LIMIT)(args.seat_limit)
            except argparse.ArgumentTypeError:
                raise CommandError(
                    f"--seat-limit takes a number of seats up to {MAX_SEAT_LIMIT} or 'none'"
                ) from None
    view = _administration(settings).update_settings(Actor.command_line(), args.org, **changes)
    _print_json(view)


def _domain_line(domain: dict[str, Any]) -> str:
    if domain["verified"]:
        return (
            f"{domain['name']:<30} verified {domain['verified_at']} by {domain['verified_by']} "
            f"({domain['verification_method']})"
        )
    return f"{domain['name']:<30} pending"


def _domain_add(args: argparse.Namespace, settings: Settings) -> None:
    domain = _administration(settings).add_domain(Actor.command_line(), args.org, args.domain)
    if args.json:
        _print_json(domain)
        return
    record = domain["txt_record"]
    if record is None:
        print(_domain_line(domain))
        return
    print(
        f"Publish this DNS record, then run `scimgate domain verify {args.org} {domain['name']}`:"
    )
    print(f'  {record["name"]}.  TXT  "{record["value"]}"')


def _domain_verify(args: argparse.Namespace, settings: Settings) -> None:
    domain = _administration(settings).verify_domain(
        Actor.command_line(), args.org, args.domain, force=args.force_verify, reason=args.reason
    )
    if args.json:
        _print_json(domain)
        return
    print(_domain_line(domain))


def _domain_list(args: argparse.Namespace, settings: Settings) -> None:
    domains = _administration(settings).list_domains(args.org)
    if args.json:
        _print_json(domains)
        return
    for domain in domains:
        print(_domain_line(domain))
        if domain["txt_record"]:
            record = domain["txt_record"]
            print(f'  publish: {record["name"]}.  TXT  "{record["value"]}"')


def _domain_remove(args: argparse.Namespace, settings: Settings) -> None:
    _administration(settings).remove_domain(Actor.command_line(), args.org, args.domain)
    print(f"removed {args.domain} from {args.org}; its members stay")


def _sso_set(args: argparse.Namespace, settings: Settings) -> None:
    if args.metadata == "-":
        metadata = sys.stdin.buffer.read(MAX_METADATA_BYTES + 1)
    else:
        try:
            with open(args.metadata, "rb") as file:
                metadata = file.read(MAX_METADATA_BYTES + 1)
        except OSError as error:
            raise CommandError(f"cannot read {args.metadata}: {error.strerror}") from None
    view = _administration(settings).set_sso(Actor.command_line(), args.org, metadata)
    _print_sso(view, args.json)


def _sso_show(args: argparse.Namespace, settings: Settings) -> None:
    _print_sso(_administration(settings).sso(args.org), args.json)


def _print_sso(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(view)
        return
    print(f"entity id: {view['entity_id']}")
    print(f"sso url:   {view['sso_url']}")
    for certificate in view["signing_certificates"]:
        print(f"signing certificate SHA-256: {certificate['sha256_fingerprint']}")


def _sso_remove(args: argparse.Namespace, settings: Settings) -> None:
    _administration(settings).remove_sso(Actor.command_line(), args.org)
    print(
        f"removed the SSO connection of {args.org}; its members stay, SCIM that is on stays on, "
        "and enabling SCIM again needs a new connection"
    )


def _scim_enable(args: argparse.Namespace, settings: Settings) -> None:
    credentials = _administration(settings).enable_scim(
        Actor.command_line(), args.org, args.expires_in
    )
    print_scim_credentials(credentials["base_url"], credentials["token"])


def print_scim_credentials(base_url: str, token: str) -> None:
    print(f"SCIM_BASE_URL={base_url}")
    print(f"SCIM_TOKEN={token}")


def _scim_disable(args: argparse.Namespace, settings: Settings) -> None:
    _administration(settings).disable_scim(Actor.command_line(), args.org)
    print(f"SCIM is off for {args.org}; its tokens are revoked and its members stay")
    if not settings.redis_url:
        print(
            "scimgate: SCIMGATE_REDIS_URL is not set, so running web processes were not told; "
            "they may accept the revoked token for up to 30 seconds",
            file=sys.stderr,
        )


def _scim_rotate(args: argparse.Namespace, settings: Settings) -> None:
    credentials = _administration(settings).rotate_scim_token(
        Actor.command_line(), args.org, args.grace, args.expires_in
    )
    print_scim_credentials(credentials["base_url"], credentials["token"])
    print(f"the previous tokens keep working for {args.grace}", file=sys.stderr)


def _scim_tokens(args: argparse.Namespace, settings: Settings) -> None:
    view = _administration(settings).scim(args.org)
    if args.json:
        _print_json(view["tokens"])
        return
    _print_scim(view)


def _print_scim(view: dict[str, Any]) -> None:
    state = "on" if view["enabled"] else "off"
    missing = view["missing_for_enable"]
    print(f"scim: {state}" + (f" (locked until it has {' and '.join(missing)})" if missing else ""))
    for token in view["tokens"]:
        ends = token["revoked_at"] or token["expires_at"] or "-"
        used = token["last_used_at"] or "never"
        print(f"  token {token['prefix']}  {token['state']:<9} until {ends}  last used {used}")


def _print_status(status: dict[str, Any]) -> None:
    members = ", ".join(f"{count} {state}" for state, count in status["members"].items())
    print(f"pending changes: {status['pending_changes']}; members: {members}")


def _scim_revoke(args: argparse.Namespace, settings: Settings) -> None:
    _administration(settings).revoke_scim_token(Actor.command_line(), args.org, args.prefix)
    print(f"revoked SCIM token {args.prefix} of {args.org}")


def _jit(args: argparse.Namespace, settings: Settings) -> None:
    result = _administration(settings).provision_jit(
        Actor.command_line(),
        args.org,
        args.email,
        given_name=args.given_name,
        family_name=args.family_name,
        display_name=args.display_name,
    )
    if args.json:
        _print_json(result)
        return
    print(f"{result['email']}: {result['outcome']} ({result['status']}, source {result['source']})")


def _operator_token_create(args: argparse.Namespace, settings: Settings) -> None:
    token = _administration(settings).create_operator_token(args.name)
    print(f"SCIMGATE_OPERATOR_TOKEN={token['token']}")
    print("shown once: store it now; it opens the admin API under /admin/v1", file=sys.stderr)


def _audit(args: argparse.Namespace, settings: Settings) -> None:
    records = _administration(settings).audit(args.org, args.after, args.limit)
    if args.json:
        _print_json(records)
        return
    for record in records:
        what = f"{record['method']} {record['path']} {record['status']}" if record["method"] else ""
        print(
            f"{record['id']:>7} {record['occurred_at']} {record['actor']:<28} "
            f"{record['action']:<24} {record['target'] or '':<38} {what}".rstrip()
        )


def _roster(args: argparse.Namespace, settings: Settings) -> None:
    members = _administration(settings).roster(args.org)
    if args.json:
        _print_json(members)
        return
    for member in members:
        reason = f"  ({member['status_reason']})" if member["status_reason"] else ""
        print(
            f"{member['email']:<40} {member['status']:<12} {member['role']:<8} "
            f"{member['source']}{reason}"
        )


def _teams(args: argparse.Namespace, settings: Settings) -> None:
    teams = _administration(settings).teams(args.org)
    if args.json:
        _print_json(teams)
        return
    for team in teams:
        print(f"{team['name']:<40} {len(team['members']):>6} members")


def _events(args: argparse.Namespace, settings: Settings) -> None:
    admin, payloads, after = _administration(settings), [], args.after
    # The feed serves pages; follow them until the limit or the end of the log.
    while len(payloads) < args.limit:
        page = admin.events(args.org, after, args.limit - len(payloads))
        if not page:
            break
        payloads += page
        after = page[-1]["sequence"]
    if args.json:
        _print_json(payloads)
        return
    for event in payloads:
        subject = event["data"].get("email") or event["data"].get("team", "")
        print(f"{event['sequence']:>6} {event['type']:<20} {subject}")


def _reconcile(args: argparse.Namespace, settings: Settings) -> None:
    result = _administration(settings).reconcile(
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
        runtime.configure(settings, _database(settings))
        notify_endpoints(result["organization_id"])


def _status(args: argparse.Namespace, settings: Settings) -> None:
    status = _administration(settings).status(args.org)
    status["queue_backlog"] = _queue_backlog(settings)
    if args.json:
        _print_json(status)
        return
    for key, value in status.items():
        if key == "members":
            value = ", ".join(f"{count} {state}" for state, count in value.items())
        print(f"{key.replace('_', ' '):<28} {value if value is not None else '-'}")


def _queue_backlog(settings: Settings) -> int | None:
    """Jobs waiting in Redis, or None when Redis is not configured or not answering."""
    if not settings.redis_url:
        return None
    import redis

    from workers.metrics import queue_backlog

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        return queue_backlog(client)
    except (redis.RedisError, OSError):
        return None
    finally:
        client.close()


def _webhook_add(args: argparse.Namespace, settings: Settings) -> None:
    endpoint = _administration(settings).add_webhook(Actor.command_line(), args.org, args.url)
    print(f"WEBHOOK_ID={endpoint['id']}")
    print(f"WEBHOOK_SECRET={endpoint['secret']}")
    print("Keep the secret: it is shown once. Verify each delivery's Scimgate-Signature with it.")


def _webhook_status(args: argparse.Namespace, settings: Settings) -> None:
    endpoints = _administration(settings).webhooks(args.org)
    if args.json:
        _print_json(endpoints)
        return
    for endpoint in endpoints:
        state = "ok"
        if endpoint["failing_since"]:
            state = f"FAILING since {endpoint['failing_since']}: {endpoint['last_error']}"
        progress = f"delivered up to {endpoint['delivered_sequence']}"
        print(
            f"{endpoint['id']:>4} {endpoint['url']}  {progress} "
            f"({endpoint['undelivered']} behind)  {state}"
        )


def _webhook_replay(args: argparse.Namespace, settings: Settings) -> None:
    endpoint_ids = _administration(settings).replay_webhooks(
        Actor.command_line(), args.org, args.from_sequence
    )
    if settings.redis_url:
        from workers.broker import setup_broker
        from workers.webhooks import deliver

        setup_broker(settings)
        for endpoint_id in endpoint_ids:
            deliver.send(endpoint_id)
    print(f"replaying events from {args.from_sequence} to {len(endpoint_ids)} endpoint(s)")


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from api.dev import run_dev

    return run_dev(settings)


def _clock(args: argparse.Namespace, settings: Settings) -> None:

    from models.core.logs import configure_logging
    from workers.clock import run_clock
    from workers.liveness import HeartbeatStop

    configure_logging(settings.log_format, settings.log_level)
    stop = HeartbeatStop()
    # SIGTERM ends the loop between ticks, so a deploy stops the clock cleanly.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    run_clock(stop)


def _alive(args: argparse.Namespace, settings: Settings) -> int:
    from workers.liveness import heartbeat_age_seconds

    age = heartbeat_age_seconds()
    if age > args.max_age:
        print(f"scimgate: the clock last came round {age:.0f} s ago", file=sys.stderr)
        return 1
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.process import run_worker

    return run_worker(settings, args.processes, args.threads, args.queues)


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    sys.exit(main())
