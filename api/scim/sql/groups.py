"""Where a Group's attributes live: directory_groups, and its members' rows for `members`."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, false, func, not_, select

from api.scim.groups import (
    CORE_GROUP_SCHEMA,
    GROUP_RESOURCE_TYPE,
    GroupResource,
)
from api.scim.sql.mapping import (
    ColumnValue,
    ConstantValue,
    ElementCondition,
    ResourceMapping,
    ValueReader,
    qualified,
)
from models.directory.tables import (
    DirectoryGroup,
    DirectoryGroupMember,
    DirectoryUser,
)


class _MemberReference:
    """A member's `$ref`: set whenever the member is, but a URL no column holds.

    Only presence reads it (`members pr`); comparisons on it are refused by the mapping.
    """

    def text(self) -> ColumnElement[str]:
        return DirectoryGroupMember.user_id

    def boolean_is(self, value: bool) -> ColumnElement[bool]:
        return false()

    def is_set(self) -> ColumnElement[bool]:
        return DirectoryGroupMember.user_id.is_not(None)

    def datetime(self) -> None:
        return None


class MembersTable:
    """A group's members as the filter compiler sees them: rows of directory_group_members.

    `members[value eq "u1"]` and `members.display co "x"` become an EXISTS over the
    membership rows of the group being filtered, joined to live users for the display.
    """

    def any_element(self, condition: ElementCondition) -> ColumnElement[bool]:
        display = func.coalesce(
            DirectoryGroupMember.display, DirectoryUser.display_name, DirectoryUser.user_name
        )

        def reader(sub_attribute: str | None) -> ValueReader:
            if sub_attribute == "value":
                return ColumnValue(DirectoryGroupMember.user_id)
            if sub_attribute == "display":
                return ColumnValue(display)
            if sub_attribute == "type":
                return ConstantValue("User")
            return _MemberReference()

        return exists(_live_members().where(condition(reader)))

    def is_absent(self) -> ColumnElement[bool]:
        return not_(exists(_live_members()))


def _live_members() -> Select[int]:
    """The membership rows of the group being filtered whose users are live."""
    return (
        select(1)
        .select_from(DirectoryGroupMember)
        .join(DirectoryUser, DirectoryUser.id == DirectoryGroupMember.user_id)
        .where(
            DirectoryGroupMember.group_id == DirectoryGroup.id,
            DirectoryUser.deleted_at.is_(None),
        )
    )


GROUP_MAPPING = ResourceMapping(
    resource_type=GROUP_RESOURCE_TYPE,
    model=GroupResource,
    document=DirectoryGroup.document,
    id_column=DirectoryGroup.id,
    created_column=DirectoryGroup.created_at,
    columns={
        qualified(CORE_GROUP_SCHEMA, "id"): ColumnValue(DirectoryGroup.id),
        qualified(CORE_GROUP_SCHEMA, "displayName"): ColumnValue(
            DirectoryGroup.display_name, lower_index=True
        ),
        qualified(CORE_GROUP_SCHEMA, "externalId"): ColumnValue(DirectoryGroup.external_id),
        qualified(CORE_GROUP_SCHEMA, "meta.created"): ColumnValue(DirectoryGroup.created_at),
        qualified(CORE_GROUP_SCHEMA, "meta.lastModified"): ColumnValue(DirectoryGroup.updated_at),
    },
    constants={qualified(CORE_GROUP_SCHEMA, "meta.resourceType"): GROUP_RESOURCE_TYPE},
    element_sources={qualified(CORE_GROUP_SCHEMA, "members"): MembersTable()},
    unsupported={
        qualified(CORE_GROUP_SCHEMA, "members.$ref"): (
            "members.$ref cannot be filtered on; filter on members.value"
        ),
        qualified(CORE_GROUP_SCHEMA, "meta.location"): "meta.location cannot be filtered on",
        qualified(CORE_GROUP_SCHEMA, "meta.version"): "meta.version cannot be filtered on",
    },
)
