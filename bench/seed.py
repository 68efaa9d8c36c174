"""Seeding a directory in bulk, straight into the tables: 100,000 users take seconds, not an hour.

Each seeded row holds the very document the API would have stored for an Okta-shaped POST
(validated once through the same code path, then varied per user), so lookups and pages
read what they would read in production.
"""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

from scim2_models import Context
from sqlalchemy import insert

from api.scim.schemas import parse_user, user_write
from bench.load import okta_user
from models.base import utcnow
from models.db import Database
from models.tables import DirectoryUser
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


def user_rows(
    organization_id: int, addresses: list[str], dirty: bool = False
) -> list[dict[str, Any]]:
    """The directory_users rows `seed_users` inserts (see there), in the order of `addresses`."""
    template = user_write(
        parse_user(okta_user("template@example.com"), Context.RESOURCE_CREATION_REQUEST)
    ).document
    ids = [str(uuid.uuid4()) for _ in addresses]
    # Distinct creation times keep the listing order what it would have been over HTTP.
    base_time = utcnow()
    rows: list[dict[str, Any]] = []
    for position, (user_id, email) in enumerate(zip(ids, addresses, strict=True)):
        document = _document_for(template, email)
        stamp = base_time + timedelta(microseconds=position)
        rows.append(
            {
                "id": user_id,
                "organization_id": organization_id,
                "user_name": email,
                "external_id": document["externalId"],
                "display_name": document["displayName"],
                "active": True,
                "document": document,
                "version": 1,
                "generation": 1,
                "applied_generation": 0 if dirty else 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    return rows


def _document_for(template: dict[str, Any], email: str) -> dict[str, Any]:
    document = copy.deepcopy(template)
    expected = okta_user(email)
    document["userName"] = email
    document["externalId"] = expected["externalId"]
    document["emails"][0]["value"] = email
    return document
