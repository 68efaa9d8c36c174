"""Verbs on event delivery: `webhook add`, `webhook status`, `webhook replay`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from api.cli.shared import administration, show, whole
from models.admin.views import WebhookView
from models.audit.trail import Actor
from models.core.config import Settings
from models.core.limits import MAX_INTEGER


def register(commands: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
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
        "--from", dest="from_sequence", type=whole(MAX_INTEGER), required=True
    )
    webhook_replay.set_defaults(handler=_webhook_replay)


def _webhook_add(args: argparse.Namespace, settings: Settings) -> None:
    endpoint = administration(settings).add_webhook(Actor.command_line(), args.org, args.url)
    print(f"WEBHOOK_ID={endpoint['id']}")
    print(f"WEBHOOK_SECRET={endpoint['secret']}")
    print("Keep the secret: it is shown once. Verify each delivery's Scimgate-Signature with it.")


def _webhook_status(args: argparse.Namespace, settings: Settings) -> None:
    endpoints = administration(settings).webhooks(args.org)
    show(args, endpoints, map(_endpoint_line, endpoints))


def _endpoint_line(endpoint: WebhookView) -> str:
    state = "ok"
    if endpoint["failing_since"]:
        state = f"FAILING since {endpoint['failing_since']}: {endpoint['last_error']}"
    progress = f"delivered up to {endpoint['delivered_sequence']}"
    return (
        f"{endpoint['id']:>4} {endpoint['url']}  {progress} "
        f"({endpoint['undelivered']} behind)  {state}"
    )


def _webhook_replay(args: argparse.Namespace, settings: Settings) -> None:
    endpoint_ids = administration(settings).replay_webhooks(
        Actor.command_line(), args.org, args.from_sequence
    )
    if settings.redis_url:
        from workers.broker import setup_broker
        from workers.webhooks import deliver

        setup_broker(settings)
        for endpoint_id in endpoint_ids:
            deliver.send(endpoint_id)
    print(f"replaying events from {args.from_sequence} to {len(endpoint_ids)} endpoint(s)")
