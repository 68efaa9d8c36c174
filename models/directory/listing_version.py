"""A version of an organization's set of live directory users, so a walk need not recount it.

Every change to that set leaves a user row dirty, in the transaction that makes it: a create
(generation 1 over applied 0), a delete (generation bumped). The row stays dirty until the
roster applies it, in a transaction that also stamps the organization's `last_reconciled_at`.
So while no user row is dirty, that stamp moves whenever the set may have changed: it is the
version. While a row is dirty there is none.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, case, null, select

from models.directory.tables import DirectoryUser, dirty
from models.organizations.tables import Organization


def live_users_version(organization_id: int) -> Select[datetime | None]:
    """One value that changes whenever the organization's live users may have; or NULL."""
    unapplied = (
        select(DirectoryUser.id)
        .where(
            DirectoryUser.organization_id == organization_id,
            dirty(DirectoryUser),
        )
        .exists()
    )
    return select(case((unapplied, null()), else_=Organization.last_reconciled_at)).where(
        Organization.id == organization_id
    )
