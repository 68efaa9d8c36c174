"""Verbs on the SCIM switch and its tokens.

`scim enable`, `disable`, `rotate`, `tokens`, `revoke`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from api.cli.shared import administration, duration, print_json
from models.admin.views import ScimView
from models.audit.trail import Actor
from models.core.config import Settings


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    scim = commands.add_parser("scim", help="SCIM provisioning").add_subparsers(metavar="ACTION")
    enable = scim.add_parser("enable", help="turn SCIM on and print a new token")
    enable.add_argument("org")
    enable.add_argument("--expires-in", type=duration, help="token lifetime, e.g. 90d")
    enable.set_defaults(handler=_scim_enable)
    disable = scim.add_parser("disable", help="turn SCIM off; members stay")
    disable.add_argument("org")
    disable.set_defaults(handler=_scim_disable)
    rotate = scim.add_parser("rotate", help="print a new token; old ones work for --grace")
    rotate.add_argument("org")
    rotate.add_argument(
        "--grace", type=duration, default=timedelta(hours=24), help="e.g. 30m, 24h (default)"
    )
    rotate.add_argument("--expires-in", type=duration, help="new token's lifetime, e.g. 90d")
    rotate.set_defaults(handler=_scim_rotate)
    tokens = scim.add_parser("tokens", help="the organization's SCIM tokens (prefixes only)")
    tokens.add_argument("org")
    tokens.add_argument("--json", action="store_true", help="print JSON")
    tokens.set_defaults(handler=_scim_tokens)
    revoke = scim.add_parser("revoke", help="revoke one SCIM token by its prefix, at once")
    revoke.add_argument("org")
    revoke.add_argument("prefix")
    revoke.set_defaults(handler=_scim_revoke)


def _scim_enable(args: argparse.Namespace, settings: Settings) -> None:
    credentials = administration(settings).enable_scim(
        Actor.command_line(), args.org, args.expires_in
    )
    print_scim_credentials(credentials["base_url"], credentials["token"])


def print_scim_credentials(base_url: str, token: str) -> None:
    print(f"SCIM_BASE_URL={base_url}")
    print(f"SCIM_TOKEN={token}")


def _scim_disable(args: argparse.Namespace, settings: Settings) -> None:
    administration(settings).disable_scim(Actor.command_line(), args.org)
    print(f"SCIM is off for {args.org}; its tokens are revoked and its members stay")
    if not settings.redis_url:
        print(
            "scimgate: SCIMGATE_REDIS_URL is not set, so running web processes were not told; "
            "they may accept the revoked token for up to 30 seconds",
            file=sys.stderr,
        )


def _scim_rotate(args: argparse.Namespace, settings: Settings) -> None:
    credentials = administration(settings).rotate_scim_token(
        Actor.command_line(), args.org, args.grace, args.expires_in
    )
    print_scim_credentials(credentials["base_url"], credentials["token"])
    print(f"the previous tokens keep working for {args.grace}", file=sys.stderr)


def _scim_tokens(args: argparse.Namespace, settings: Settings) -> None:
    view = administration(settings).scim(args.org)
    if args.json:
        print_json(view["tokens"])
        return
    print_scim(view)


def print_scim(view: ScimView) -> None:
    state = "on" if view["enabled"] else "off"
    missing = view["missing_for_enable"]
    print(f"scim: {state}" + (f" (locked until it has {' and '.join(missing)})" if missing else ""))
    for token in view["tokens"]:
        ends = token["revoked_at"] or token["expires_at"] or "-"
        used = token["last_used_at"] or "never"
        print(f"  token {token['prefix']}  {token['state']:<9} until {ends}  last used {used}")


def _scim_revoke(args: argparse.Namespace, settings: Settings) -> None:
    administration(settings).revoke_scim_token(Actor.command_line(), args.org, args.prefix)
    print(f"revoked SCIM token {args.prefix} of {args.org}")
