"""Where a User's attributes live: the directory_users table, for filters and sorts."""

from __future__ import annotations

from api.scim.schemas import CORE_USER_SCHEMA, UserResource
from api.scim.sql.mapping import (
    ColumnValue,
    ResourceMapping,
    qualified,
)
from models.directory.tables import DirectoryUser

USER_MAPPING = ResourceMapping(
    resource_type="User",
    model=UserResource,
    document=DirectoryUser.document,
    id_column=DirectoryUser.id,
    created_column=DirectoryUser.created_at,
    columns={
        qualified(CORE_USER_SCHEMA, "id"): ColumnValue(DirectoryUser.id),
        qualified(CORE_USER_SCHEMA, "userName"): ColumnValue(
            DirectoryUser.user_name, lower_index=True
        ),
        qualified(CORE_USER_SCHEMA, "externalId"): ColumnValue(DirectoryUser.external_id),
        qualified(CORE_USER_SCHEMA, "displayName"): ColumnValue(DirectoryUser.display_name),
        qualified(CORE_USER_SCHEMA, "meta.created"): ColumnValue(DirectoryUser.created_at),
        qualified(CORE_USER_SCHEMA, "meta.lastModified"): ColumnValue(DirectoryUser.updated_at),
    },
    constants={qualified(CORE_USER_SCHEMA, "meta.resourceType"): "User"},
    unsupported={
        qualified(CORE_USER_SCHEMA, "password"): "password is write-only: it cannot be queried",
        qualified(CORE_USER_SCHEMA, "groups"): (
            "Users cannot be filtered on groups; filter Groups on members instead"
        ),
        qualified(CORE_USER_SCHEMA, "meta.location"): "meta.location cannot be filtered on",
        qualified(CORE_USER_SCHEMA, "meta.version"): "meta.version cannot be filtered on",
    },
)
