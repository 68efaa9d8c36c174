"""Verbs on an organization's SAML identity provider: `sso set`, `sso show`, `sso remove`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.cli.shared import CommandError, administration, print_json
from models.admin.views import SsoView
from models.audit.trail import Actor
from models.core.config import Settings
from models.sso.connections import MAX_METADATA_BYTES


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
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


def _sso_set(args: argparse.Namespace, settings: Settings) -> None:
    if args.metadata == "-":
        metadata = sys.stdin.buffer.read(MAX_METADATA_BYTES + 1)
    else:
        try:
            with open(args.metadata, "rb") as file:
                metadata = file.read(MAX_METADATA_BYTES + 1)
        except OSError as error:
            raise CommandError(f"cannot read {args.metadata}: {error.strerror}") from None
    view = administration(settings).set_sso(Actor.command_line(), args.org, metadata)
    print_sso(view, args.json)


def _sso_show(args: argparse.Namespace, settings: Settings) -> None:
    print_sso(administration(settings).sso(args.org), args.json)


def print_sso(view: SsoView, as_json: bool) -> None:
    if as_json:
        print_json(view)
        return
    print(f"entity id: {view['entity_id']}")
    print(f"sso url:   {view['sso_url']}")
    for certificate in view["signing_certificates"]:
        print(f"signing certificate SHA-256: {certificate['sha256_fingerprint']}")


def _sso_remove(args: argparse.Namespace, settings: Settings) -> None:
    administration(settings).remove_sso(Actor.command_line(), args.org)
    print(
        f"removed the SSO connection of {args.org}; its members stay, SCIM that is on stays on, "
        "and enabling SCIM again needs a new connection"
    )
