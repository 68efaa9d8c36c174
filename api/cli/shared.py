"""What every verb of the command shares: the database, Administration, argument types, output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import orjson

from models.admin.administration import Administration
from models.core.config import Settings
from models.core.db import Database
from models.core.limits import MAX_DURATION, whole_number
from models.organizations.domains import DnsTxtLookup

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class CommandError(Exception):
    """A failure to report as one line on stderr, with a non-zero exit."""


# One engine per database URL for the life of a command, disposed when the command ends.
_databases: dict[str, Database] = {}


def connect(settings: Settings) -> Database:
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


def close_databases() -> None:
    while _databases:
        _databases.popitem()[1].dispose()


def administration(settings: Settings) -> Administration:
    return Administration(
        connect(settings),
        DnsTxtLookup(settings.dns_resolver, settings.dns_timeout_seconds),
        settings.scim_base_url,
    )


def duration(text: str) -> timedelta:
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


def whole(maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 0 to `maximum`, the range the API takes too."""

    def whole(text: str) -> int:
        value = whole_number(text, 0, maximum)
        if value is None:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 0 to {maximum}")
        return value

    return whole


def on_off(value: str | None) -> bool | None:
    return None if value is None else value == "on"


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def show(args: argparse.Namespace, value: Any, lines: Iterable[str]) -> None:
    """What a verb prints: `value` as JSON with `--json`, else `lines`, one row each."""
    if getattr(args, "json", False):
        print_json(value)
        return
    for line in lines:
        print(line)
