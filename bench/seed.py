"""Seeding a directory in bulk, straight into the tables: 100,000 users take seconds, not an hour.

The rows are `tests.support.directory.user_rows`: the document the API would have stored for
an Okta-shaped POST, so lookups and pages read what they would read in production.
"""

from __future__ import annotations

from sqlalchemy import insert

from models.core.db import Database
from models.directory.tables import DirectoryUser
from tests.support.directory import user_rows
from tests.support.scim import OrganizationFixture

INSERT_CHUNK = 5_000


def create_tenant(database: Database, slug: str, domain: str) -> tuple[int, str]:
    """An organization ready for SCIM (verified domain, SSO connection); its id and token."""
    tenant = OrganizationFixture.create(database, slug, [domain])
    return tenant.id, tenant.token


def seed_users(
    database: Database, organization_id: int, addresses: list[str], dirty: bool = False
) -> list[str]:
    """Insert directory users for `addresses`; returns their ids in the same order.

    Clean rows (the default) are already applied, as after a past reconcile; dirty rows wait
    for the roster, as just after an IdP wrote them.
    """
    rows = user_rows(organization_id, addresses, dirty)
    for offset in range(0, len(rows), INSERT_CHUNK):
        with database.writing() as session:
            session.execute(insert(DirectoryUser), rows[offset : offset + INSERT_CHUNK])
    return [row["id"] for row in rows]
