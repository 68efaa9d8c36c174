"""Directory users written straight into the table, as the API would have stored them.

Each row holds the very document the API stores for an Okta-shaped POST (validated once
through the same code path, then varied per user), so what reads them reads what it would
read in production. The bench seeds 100,000 users this way in seconds, not an hour.
"""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from typing import Any

from scim2_models import Context

from api.scim.schemas import parse_user, user_write
from models.core.base import utcnow
from tests.support.scim import okta_user


def user_rows(
    organization_id: int, addresses: list[str], dirty: bool = False
) -> list[dict[str, Any]]:
    """directory_users rows for `addresses`, in their order, ready for an `INSERT`.

    Clean rows (the default) are already applied, as after a past reconcile; dirty rows wait
    for the roster, as just after an IdP wrote them.
    """
    template = user_write(
        parse_user(okta_user("template@example.com"), Context.RESOURCE_CREATION_REQUEST)
    ).document
    # Distinct creation times keep the listing order what it would have been over HTTP.
    base_time = utcnow()
    rows: list[dict[str, Any]] = []
    for position, email in enumerate(addresses):
        document = _document_for(template, email)
        stamp = base_time + timedelta(microseconds=position)
        rows.append(
            {
                "id": str(uuid.uuid4()),
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
