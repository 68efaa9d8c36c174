"""The audit trail: every SCIM request and every admin action, per organization.

Two ways in, chosen by what each needs:
- An admin action is written in the same transaction as the change it describes
  (`record_admin_action`): the record exists exactly when the change does, at no extra cost.
- A SCIM request's record is known only once the response is (status, latency), and IdPs send
  bursts; writing each one in a transaction of its own would add a database round trip to
  every request. `AuditWriter` buffers them in memory and a background thread inserts them in
  batches (every half second, or sooner when a batch fills). The price: records of the last
  half second are lost if the process is killed outright (a graceful stop flushes them).

Records never hold a secret or a request body: only the token's visible prefix and a summary
(resource id, operation, counts).
"""

from __future__ import annotations

import atexit
import getpass
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from sqlalchemy import Select, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from models.audit.tables import AuditRecord
from models.core.base import utcnow
from models.core.db import Database

log = logging.getLogger(__name__)

MAX_PAGE = 1000
PURGE_BATCH = 5000


@dataclass(frozen=True)
class Actor:
    """Who performs an admin action, as the audit trail names them."""

    label: str

    @classmethod
    def operator(cls, name: str) -> Actor:
        return cls(f"operator {name}")

    @classmethod
    def command_line(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(f"cli {user}")


@dataclass(frozen=True)
class AuditEntry:
    """One SCIM request as the trail keeps it."""

    organization_id: int
    actor: str
    action: str
    method: str
    path: str
    status: int
    latency_ms: float
    token_prefix: str | None = None
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=utcnow)
    kind: str = "scim"


def record_admin_action(
    session: Session,
    organization_id: int | None,
    actor: Actor,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an admin action to the trail inside the caller's transaction; an action on
    the deployment itself has no `organization_id`."""
    session.add(
        AuditRecord(
            organization_id=organization_id,
            occurred_at=utcnow(),
            kind="admin",
            actor=actor.label,
            action=action,
            target=target,
            details=details or {},
        )
    )


def audit_of(organization_id: int) -> Select[AuditRecord]:
    """Every audit record of one organization: the root of every audit query."""
    return select(AuditRecord).where(AuditRecord.organization_id == organization_id)


def audit_after(
    session: Session, organization_id: int | None, after: int = 0, limit: int = 100
) -> list[AuditRecord]:
    """Records with an id above `after`, oldest first; page on with the last id seen.

    `organization_id` None: the deployment's own records (operator tokens created).
    """
    limit = max(1, min(limit, MAX_PAGE))
    scope = (
        select(AuditRecord).where(AuditRecord.organization_id.is_(None))
        if organization_id is None
        else audit_of(organization_id)
    )
    query = scope.where(AuditRecord.id > after).order_by(AuditRecord.id)
    return list(session.scalars(query.limit(limit)))


class AuditRecordView(TypedDict):
    id: int
    occurred_at: str
    kind: str
    actor: str
    action: str
    method: str | None
    path: str | None
    status: int | None
    latency_ms: float | None
    token_prefix: str | None
    target: str | None
    details: dict[str, Any]


def audit_payload(record: AuditRecord) -> AuditRecordView:
    """The public shape of an audit record, for the admin API and `scimgate audit --json`."""
    return {
        "id": record.id,
        "occurred_at": record.occurred_at.isoformat(),
        "kind": record.kind,
        "actor": record.actor,
        "action": record.action,
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "latency_ms": record.latency_ms,
        "token_prefix": record.token_prefix,
        "target": record.target,
        "details": record.details,
    }


def purge_audit(database: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete records older than the retention, in bounded batches; returns how many."""
    if retention_days <= 0:
        raise ValueError("the audit retention must be at least one day")
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    removed = 0
    # Bounded: at most this many batches per run; the next day's run takes the rest.
    for _ in range(1000):
        with database.writing() as session:
            old = (
                select(AuditRecord.id)
                .where(AuditRecord.occurred_at < cutoff)
                .order_by(AuditRecord.id)
                .limit(PURGE_BATCH)
            )
            ids = list(session.scalars(old))
            if ids:
                session.execute(
                    delete(AuditRecord)
                    .where(AuditRecord.id.in_(ids))
                    .execution_options(synchronize_session=False)
                )
        removed += len(ids)
        if len(ids) < PURGE_BATCH:
            break
    return removed


# A Core insert of the entries' own attribute dicts: the ORM's bulk insert, and asdict's deep
# copies, cost more than the statement for the one record every request makes.
_INSERT_RECORD = insert(cast(Table, AuditRecord.__table__))


class AuditWriter:
    """Buffers SCIM request records and inserts them in batches from a background thread.

    `record` never touches the database and never blocks on it. The thread starts on first
    use in each process (after gunicorn forks) and flushes once more at exit.
    """

    def __init__(
        self,
        database: Database,
        flush_interval_seconds: float = 0.5,
        batch_size: int = 500,
        max_pending: int = 50_000,
    ) -> None:
        self._database = database
        self._interval = flush_interval_seconds
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._pending: list[AuditEntry] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid = 0
        self.dropped = 0

    def record(self, entry: AuditEntry) -> None:
        self._ensure_thread()
        with self._lock:
            if len(self._pending) >= self._max_pending:
                # The database has been unreachable for a long while: keep the newest records.
                del self._pending[0]
                self.dropped += 1
            self._pending.append(entry)
            full = len(self._pending) >= self._batch_size
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Write everything recorded so far, in the caller's thread; used at exit and by tests."""
        with self._flush_lock:
            while True:
                with self._lock:
                    batch = self._pending[: self._batch_size]
                    del self._pending[: self._batch_size]
                if not batch:
                    return
                if not self._write(batch):
                    with self._lock:
                        self._pending[:0] = batch
                    return

    def close(self) -> None:
        """Stop the thread and write what is left (called at exit, or by the app's owner)."""
        atexit.unregister(self.close)
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)
        self.flush()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._owner_pid == pid and self._thread is not None:
            return
        with self._lock:
            if self._owner_pid == pid and self._thread is not None:
                return
            # A forked child inherits the parent's list but not its thread: start afresh.
            self._pending = []
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
            self._owner_pid = pid
            self._thread.start()
            atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            started = time.monotonic()
            self.flush()
            if self.pending and time.monotonic() - started < self._interval:
                # The write failed: wait a whole interval before trying again.
                self._stop.wait(self._interval)

    def _write(self, batch: list[AuditEntry]) -> bool:
        """Insert a batch; False means "try again later" (the database is unreachable)."""
        try:
            with self._database.writing() as session:
                session.execute(_INSERT_RECORD, [vars(entry) for entry in batch])
        except IntegrityError:
            # A record the database will never take (its organization was deleted meanwhile)
            # must not hold back the others: write them one by one and drop only that one.
            self._write_one_by_one(batch)
        except SQLAlchemyError as error:
            log.warning("audit: could not write %s records yet: %s", len(batch), error)
            return False
        return True

    def _write_one_by_one(self, batch: list[AuditEntry]) -> None:
        for entry in batch:
            try:
                with self._database.writing() as session:
                    session.execute(_INSERT_RECORD, [vars(entry)])
            except IntegrityError as error:
                self.dropped += 1
                log.warning("audit: dropped a record the database refuses: %s", error.orig)
