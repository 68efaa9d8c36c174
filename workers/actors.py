"""Every actor, for `dramatiq workers.actors`: importing this module registers them all."""

from workers.broker import setup_broker

setup_broker()

from workers.audit import purge_audit  # noqa: E402
from workers.reconcile import reconcile  # noqa: E402
from workers.sweep import daily, full_reconcile_organization, sweep  # noqa: E402
from workers.webhooks import deliver  # noqa: E402

__all__ = [
    "daily",
    "deliver",
    "full_reconcile_organization",
    "purge_audit",
    "reconcile",
    "sweep",
]
