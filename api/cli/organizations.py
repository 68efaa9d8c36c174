"""Verbs on organizations and their email domains: `org ...`, `domain ...`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from api.cli.scim import print_scim
from api.cli.shared import CommandError, administration, on_off, print_json, show, whole
from models.admin.views import DomainView, OrganizationSummary, StatusView
from models.audit.trail import Actor
from models.core.config import Settings
from models.core.limits import MAX_SEAT_LIMIT


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
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


def _org_create(args: argparse.Namespace, settings: Settings) -> None:
    administration(settings).create_organization(
        Actor.command_line(), args.slug, args.name, args.domain
    )
    print(f"created organization {args.slug}")
    for domain in args.domain:
        print(f"  {domain}: verified by operator override (recorded in the audit trail)")


def _org_list(args: argparse.Namespace, settings: Settings) -> None:
    organizations = administration(settings).list_organizations()
    show(args, organizations, map(_organization_line, organizations))


def _organization_line(organization: OrganizationSummary) -> str:
    scim = "SCIM on" if organization["scim_enabled"] else "SCIM off"
    return f"{organization['slug']:<30} {scim:<9} {organization['name']}"


def _org_show(args: argparse.Namespace, settings: Settings) -> None:
    view = administration(settings).organization(args.org)
    if args.json:
        print_json(view)
        return
    print(f"{view['slug']}: {view['name']}")
    print("domains:")
    for domain in view["domains"]:
        print(f"  {_domain_line(domain)}")
    sso = view["sso"]
    print(f"sso: {sso['entity_id'] + ' at ' + sso['sso_url'] if sso else 'none'}")
    print_scim(view["scim"])
    settings_view = view["settings"]
    seat_limit = settings_view["seat_limit"]
    print(
        f"jit: {'on' if settings_view['jit_enabled'] else 'off'}, "
        f"with SCIM: {'on' if settings_view['jit_with_scim'] else 'off'}, "
        f"seat limit: {'none' if seat_limit is None else seat_limit}"
    )
    print_status(view["status"])


def _org_set(args: argparse.Namespace, settings: Settings) -> None:
    changes: dict[str, Any] = {
        "jit_enabled": on_off(args.jit),
        "jit_with_scim": on_off(args.jit_with_scim),
    }
    if args.seat_limit is not None:
        if args.seat_limit.lower() == "none":
            changes["clear_seat_limit"] = True
        else:
            try:
                changes["seat_limit"] = whole(MAX_SEAT_LIMIT)(args.seat_limit)
            except argparse.ArgumentTypeError:
                raise CommandError(
                    f"--seat-limit takes a number of seats up to {MAX_SEAT_LIMIT} or 'none'"
                ) from None
    view = administration(settings).update_settings(Actor.command_line(), args.org, **changes)
    print_json(view)


def _domain_line(domain: DomainView) -> str:
    if domain["verified"]:
        return (
            f"{domain['name']:<30} verified {domain['verified_at']} by {domain['verified_by']} "
            f"({domain['verification_method']})"
        )
    return f"{domain['name']:<30} pending"


def _domain_add(args: argparse.Namespace, settings: Settings) -> None:
    domain = administration(settings).add_domain(Actor.command_line(), args.org, args.domain)
    if args.json:
        print_json(domain)
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
    domain = administration(settings).verify_domain(
        Actor.command_line(), args.org, args.domain, force=args.force_verify, reason=args.reason
    )
    show(args, domain, [_domain_line(domain)])


def _domain_list(args: argparse.Namespace, settings: Settings) -> None:
    domains = administration(settings).list_domains(args.org)
    show(args, domains, (line for domain in domains for line in _domain_lines(domain)))


def _domain_lines(domain: DomainView) -> list[str]:
    """A domain, and the record to publish while it waits for DNS proof."""
    record = domain["txt_record"]
    publish = [f'  publish: {record["name"]}.  TXT  "{record["value"]}"'] if record else []
    return [_domain_line(domain), *publish]


def _domain_remove(args: argparse.Namespace, settings: Settings) -> None:
    administration(settings).remove_domain(Actor.command_line(), args.org, args.domain)
    print(f"removed {args.domain} from {args.org}; its members stay")


def print_status(status: StatusView) -> None:
    members = ", ".join(f"{count} {state}" for state, count in status["members"].items())
    print(f"pending changes: {status['pending_changes']}; members: {members}")
