"""The Dramatiq broker: installed by a process's entry point, never by importing a module.

Actor modules declare their actors with `actor` (below), which needs no Redis and no
settings: until a process installs its broker with `setup_broker` (the worker's setup
function, the web app, the CLI, the test fixtures), actors wait on a stand-in that refuses
to enqueue anything, so a message can never vanish into a broker nobody consumes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq
import dramatiq.broker
from dramatiq import Actor
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from models.core.config import Settings
from workers.keys import NAMESPACE

# A SIGKILLed worker's messages return once its heartbeat is older than this; Dramatiq's
# default (60 s, checked on 0.1% of commands) leaves them stranded for many minutes.
HEARTBEAT_TIMEOUT_MS = 30_000
# Out of a million broker commands, how many also requeue the messages of dead workers.
MAINTENANCE_CHANCE = 100_000


class BrokerNotInstalled(RuntimeError):
    """An actor was sent a message before this process installed its broker."""


class _Unbound(StubBroker):
    """Where actors wait until `setup_broker` moves them onto the real broker."""

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        raise BrokerNotInstalled(
            f"{message.actor_name} was sent before setup_broker() installed the broker"
        )


_unbound = _Unbound()


def actor(**options: Any) -> Callable[[Callable[..., Any]], Actor[Any, Any]]:
    """`dramatiq.actor`, declared on the installed broker, or held until one is installed."""

    def declare(fn: Callable[..., Any]) -> Actor[Any, Any]:
        declared: Actor[Any, Any] = dramatiq.actor(broker=_installed() or _unbound, **options)(fn)
        return declared

    return declare


def create_broker(redis_url: str) -> RedisBroker:
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=redis_url,
        namespace=NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
        # Short socket timeouts: the API must not hang on a Redis that is gone.
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
    )


def setup_broker(settings: Settings | None = None) -> RedisBroker:
    """Install this process's broker and move every declared actor onto it.

    Later calls return the one installed.
    """
    current = _installed()
    if current is not None:
        return current
    settings = settings or Settings.from_env()
    if not settings.redis_url:
        raise RuntimeError(
            "SCIMGATE_REDIS_URL is not set (`scimgate dev` starts an embedded Redis for you)"
        )
    broker = create_broker(settings.redis_url)
    dramatiq.set_broker(broker)
    for waiting in list(_unbound.actors.values()):
        waiting.broker = broker
        broker.declare_actor(waiting)
    _unbound.actors.clear()
    return broker


def installed_broker() -> RedisBroker:
    """The broker `setup_broker` installed; an error naming the mistake if none was."""
    broker = _installed()
    if broker is None:
        raise BrokerNotInstalled("setup_broker() has not installed this process's broker")
    return broker


def _installed() -> RedisBroker | None:
    current = dramatiq.broker.global_broker
    return current if isinstance(current, RedisBroker) else None
