"""The audit purge: drop audit records past the configured retention, once a day."""

from __future__ import annotations

import logging

import dramatiq

from models.audit.trail import purge_audit as purge_audit_records
from workers import runtime
from workers.broker import setup_broker

log = logging.getLogger(__name__)

setup_broker()


@dramatiq.actor(actor_name="maintenance.purge_audit", queue_name="maintenance", max_retries=3)
def purge_audit() -> None:
    retention_days = runtime.settings().audit_retention_days
    removed = purge_audit_records(runtime.database(), retention_days)
    if removed:
        log.info("purged %s audit records older than %s days", removed, retention_days)
