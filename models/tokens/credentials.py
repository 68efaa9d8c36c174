"""Telling caches that SCIM credentials changed: one hook, whichever code path changed them.

Web processes keep the tenants of recently seen tokens in memory (api/authentication.py), so
a request does not pay a database query to authenticate. Disabling SCIM, revoking or
rotating a token must still shut the door at once, whatever command or endpoint did it, and
a remembered tenant carries its verified domains, which must not outlive a change either. So
rather than trusting every such path to remember, the session watches the rows all that
lives in: after a commit that changed or deleted a SCIM token, an organization or a domain,
every registered listener is called. A listener invalidates the caches (it advances the epoch they
check on every request). Only bookkeeping columns are left out (a token's `last_used_at`, an
organization's event counter and last reconcile), which the request path and the workers
write all the time and which no authentication depends on. Anything else counts, so a new
rule about who may use SCIM is covered without this module knowing of it.

Bulk UPDATE and DELETE statements on those tables count too. SQL written as text does not:
it must call `credentials_changed()` itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, ORMExecuteState, Session, UOWTransaction

from models.organizations.tables import Domain, Organization
from models.tokens.tables import ScimToken

log = logging.getLogger(__name__)

_FLAG = "scimgate_credentials_changed"
# Columns written in passing, which no authentication depends on, by table.
_BOOKKEEPING = {
    ScimToken.__tablename__: frozenset({"last_used_at"}),
    Organization.__tablename__: frozenset({"event_sequence", "last_reconciled_at"}),
    Domain.__tablename__: frozenset(),
}

_listeners: dict[str, Callable[[], None]] = {}
_lock = threading.Lock()


def listen(name: str, listener: Callable[[], None]) -> None:
    """Call `listener` after every commit that changed credentials; one listener per name."""
    with _lock:
        _listeners[name] = listener


def credentials_changed() -> None:
    """Tell every listener now; a listener that fails is logged, never raised."""
    with _lock:
        listeners = list(_listeners.values())
    for listener in listeners:
        try:
            listener()
        except Exception:
            log.exception("could not invalidate cached SCIM credentials")


def _touches_credentials(instance: Any, deleted: bool) -> bool:
    if not isinstance(instance, ScimToken | Organization | Domain):
        return False
    if deleted:
        return True
    ignored = _BOOKKEEPING[instance.__tablename__]
    state: InstanceState[Any] = inspect(instance)
    return any(
        attribute.history.has_changes()
        for name, attribute in state.attrs.items()
        if name not in ignored
    )


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session: Session, _context: UOWTransaction) -> None:
    # After a flush the session still lists what it flushed, with each attribute's history.
    # New rows count: a domain may be added already verified.
    written = [*session.new, *session.dirty]
    if any(_touches_credentials(obj, deleted=False) for obj in written) or any(
        _touches_credentials(obj, deleted=True) for obj in session.deleted
    ):
        session.info[_FLAG] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table_name = getattr(getattr(state.statement, "table", None), "name", None)
    if table_name not in _BOOKKEEPING:
        return
    if state.is_update:
        written = {getattr(column, "key", str(column)) for column in _set_columns(state.statement)}
        if written and written <= _BOOKKEEPING[table_name]:
            return
    state.session.info[_FLAG] = True


def _set_columns(statement: Any) -> list[Any]:
    """The columns an UPDATE statement sets (empty when it cannot tell)."""
    values = getattr(statement, "_values", None) or {}
    return list(values.keys())


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        credentials_changed()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_FLAG, None)
