"""Every actor, for `dramatiq workers.actors`: importing this module declares them all.

The broker is installed first, by `workers.process:setup_worker` in a worker process.
"""

from typing import Any

from dramatiq import Actor

from workers.maintenance import daily, purge_audit, sweep
from workers.roster import full_reconcile_organization, reconcile
from workers.webhooks import deliver


def all_actors() -> list[Actor[Any, Any]]:
    """Every actor of scimgate, whichever broker it is declared on."""
    return [daily, deliver, full_reconcile_organization, purge_audit, reconcile, sweep]


__all__ = [
    "all_actors",
    "daily",
    "deliver",
    "full_reconcile_organization",
    "purge_audit",
    "reconcile",
    "sweep",
]
