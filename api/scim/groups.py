"""Groups on the wire: bodies in, a directory GroupChange out, and the Group rendered back.

Members never pass through scim2-models' PATCH engine: it would need the whole members list
in memory. A Group PATCH is read here into a new document (displayName, externalId) plus
membership steps that the directory applies row by row.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from scim2_models import (
    Context,
    Group,
    InvalidFilterException,
    InvalidPathException,
    InvalidValueException,
    MutabilityException,
    NoTargetException,
    Required,
    ScimFilter,
    Uniqueness,
)
from scim2_models.path.expressions import (
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
)

from api.scim.filter_limits import check_filter_size
from api.scim.patch import patch_envelope
from api.scim.schemas import check_name_length, clean_body
from models.directory.groups import (
    GroupChange,
    GroupMemberView,
    GroupWrite,
    ListedGroup,
    MemberRef,
    MembershipAction,
    MembershipStep,
)
from models.directory.tables import (
    SCIM_NAME_LENGTH,
    DirectoryGroup,
)

CORE_GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
# Entra ID adds this schema to every Group it creates; it defines nothing we store.
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
GROUP_RESOURCE_TYPE = "Group"
PATCH_OPS = ("add", "remove", "replace")
_MEMBER_FILTER_PATH = re.compile(r"^members\[(?P<filter>.*)\](?P<rest>.*)$", re.IGNORECASE)


class GroupResource(Group):
    """The core Group as scimgate serves it: a displayName is unique in the organization."""

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """A human-readable name for the Group, unique in the organization in any case."""


def parse_group(body: Any, context: Context) -> tuple[GroupWrite, list[MemberRef] | None]:
    """A Group body for creation or replacement: the write and its members (None if absent).

    Raises pydantic's ValidationError or a scim2-models SCIMException for what is refused.
    """
    cleaned = clean_body(body, GroupResource)
    members = cleaned.pop("members", None)
    group = GroupResource.model_validate(cleaned, scim_ctx=context)
    refs = None if members is None else member_values(members)
    return group_write(group.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)), refs


def group_write(document: dict[str, Any]) -> GroupWrite:
    """The stored form of a Group document: no id, meta or members; a non-blank displayName."""
    document = {
        key: value for key, value in document.items() if key not in ("id", "meta", "members")
    }
    document["schemas"] = [CORE_GROUP_SCHEMA]
    display_name = document.get("displayName")
    if not isinstance(display_name, str) or not display_name.strip():
        raise InvalidValueException(detail="displayName is required and cannot be blank")
    external_id = document.get("externalId")
    if external_id is not None and not isinstance(external_id, str):
        raise InvalidValueException(detail="externalId must be a string")
    try:
        check_name_length("displayName", display_name)
        check_name_length("externalId", external_id)
    except ValueError as error:
        raise InvalidValueException(detail=str(error)) from None
    if external_id is None:
        document.pop("externalId", None)
    return GroupWrite(document=document, display_name=display_name, external_id=external_id)


def member_values(members: Any) -> list[MemberRef]:
    """The users a `members` value names: objects with a `value`, each of type User."""
    entries = [members] if isinstance(members, dict) else members
    if not isinstance(entries, list):
        raise InvalidValueException(detail="members must be a list of objects with a value")
    ids = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidValueException(detail="each member must be an object with a value")
        lowered = {str(key).lower(): item for key, item in entry.items()}
        value = lowered.get("value")
        if not isinstance(value, str) or not value:
            raise InvalidValueException(detail="each member needs a value: the id of a User")
        kind = lowered.get("type")
        if kind is not None and str(kind).lower() != "user":
            raise InvalidValueException(detail=f"members are Users, not {kind!r}")
        display = lowered.get("display")
        if display is not None and (
            not isinstance(display, str) or len(display) > SCIM_NAME_LENGTH
        ):
            raise InvalidValueException(detail="a member's display must be a short string")
        ids.append(MemberRef(value, display or None))
    return ids


def render_group(
    row: DirectoryGroup | ListedGroup,
    members: list[GroupMemberView] | None,
    base_url: str,
    version: str,
) -> dict[str, Any]:
    """The Group as clients read it; `members` is left out when it was not loaded."""
    body: dict[str, Any] = {"id": row.id, **row.document}
    if members is not None:
        body["members"] = [
            {
                "value": member.user_id,
                "display": member.display,
                "$ref": f"{base_url}/Users/{member.user_id}",
                "type": "User",
            }
            for member in members
        ]
    body["meta"] = {
        "resourceType": GROUP_RESOURCE_TYPE,
        "created": row.created_at.isoformat(),
        "lastModified": row.updated_at.isoformat(),
        "location": f"{base_url}/Groups/{row.id}",
        "version": version,
    }
    return body


def wants_members(attributes: str | None, excluded_attributes: str | None) -> bool:
    """Whether a response must carry members, from the `attributes` and `excludedAttributes`."""

    def names(raw: str | None) -> set[str]:
        prefix = CORE_GROUP_SCHEMA.lower() + ":"
        return {
            name.strip().lower().removeprefix(prefix).split(".", 1)[0]
            for name in (raw or "").split(",")
            if name.strip()
        }

    if attributes:
        return "members" in names(attributes)
    return "members" not in names(excluded_attributes)


def patch_group(document: dict[str, Any], group_id: str, body: Any) -> GroupChange:
    """Read a PatchOp body against a stored Group document: all operations, or an error."""
    return _GroupPatch(document, group_id).apply(patch_operations(body))


def patch_operations(body: Any) -> list[dict[str, Any]]:
    """The operations of a PatchOp body, each an object with a known `op`."""
    _, operations = patch_envelope(body)
    if not isinstance(operations, list) or not operations:
        raise InvalidValueException(detail="Operations must hold one or more operations")
    normalized = []
    for operation in operations:
        if not isinstance(operation, dict):
            raise InvalidValueException(detail="each operation must be an object")
        keys = {str(key).lower(): value for key, value in operation.items()}
        op = keys.get("op")
        if not isinstance(op, str) or op.lower() not in PATCH_OPS:
            raise InvalidValueException(detail=f"{op!r} is not a PATCH operation: {PATCH_OPS}")
        path = keys.get("path")
        if path is not None and not isinstance(path, str):
            raise InvalidPathException(detail="path must be a string")
        entry = {"op": op.lower(), "path": path or None}
        if "value" in keys:
            entry["value"] = keys["value"]
        normalized.append(entry)
    return normalized


class _GroupPatch:
    def __init__(self, document: dict[str, Any], group_id: str) -> None:
        self._document = dict(document)
        self._group_id = group_id
        self._steps: list[MembershipStep] = []

    def apply(self, operations: list[dict[str, Any]]) -> GroupChange:
        for operation in operations:
            op, path = operation["op"], operation["path"]
            if path is None:
                self._pathless(op, operation)
            else:
                self._with_path(op, path, operation)
        return GroupChange(write=group_write(self._document), steps=self._steps)

    def _pathless(self, op: str, operation: dict[str, Any]) -> None:
        if op == "remove":
            raise NoTargetException(detail="a remove operation needs a path")
        value = operation.get("value")
        if not isinstance(value, dict):
            raise InvalidValueException(detail=f"a {op} without a path takes an object value")
        for key, item in value.items():
            name = str(key).lower().removeprefix(CORE_GROUP_SCHEMA.lower() + ":")
            if name == "id":
                # Okta sends the id back with every rename; only a different id is a change.
                if item != self._group_id:
                    raise MutabilityException(detail="id is read-only")
            elif name in ("displayname", "externalid", "members"):
                self._set(op, name, item)
            # Anything else (meta, schemas, an IdP mapping's extras) is not ours to change.

    def _with_path(self, op: str, path: str, operation: dict[str, Any]) -> None:
        has_value = "value" in operation
        value = operation.get("value")
        name = path.strip()
        if name.lower().startswith(CORE_GROUP_SCHEMA.lower() + ":"):
            name = name[len(CORE_GROUP_SCHEMA) + 1 :]
        elif ":" in name:
            # An attribute of a schema we do not serve (an IdP mapping's): ignored, as in POST.
            return
        filtered = _MEMBER_FILTER_PATH.match(name)
        if filtered:
            if op != "remove" or filtered.group("rest"):
                raise InvalidPathException(
                    detail="members are added or replaced with path 'members' and a value"
                )
            self._step(
                MembershipAction.REMOVE,
                [MemberRef(user_id) for user_id in member_filter_values(filtered.group("filter"))],
            )
            return
        attribute = name.lower()
        if attribute in ("id", "meta") or attribute.startswith("meta."):
            raise MutabilityException(detail=f"{name} is read-only")
        if attribute not in ("displayname", "externalid", "members"):
            raise InvalidPathException(detail=f"{name!r} is not an attribute of a Group")
        if op == "remove":
            self._remove(attribute, value if has_value else None)
            return
        if not has_value:
            raise InvalidValueException(detail=f"value is required for {op} operations")
        self._set(op, attribute, value)

    def _set(self, op: str, attribute: str, value: Any) -> None:
        if attribute == "members":
            if value is None:
                value = []
            action = MembershipAction.ADD if op == "add" else MembershipAction.REPLACE
            self._step(action, member_values(value))
        elif attribute == "displayname":
            self._document["displayName"] = value
        elif value is None:
            self._document.pop("externalId", None)
        else:
            self._document["externalId"] = value

    def _remove(self, attribute: str, value: Any) -> None:
        if attribute == "members":
            if value is None:
                self._step(MembershipAction.REMOVE_ALL, [])
            else:
                # Entra ID names the members to remove in the value.
                self._step(MembershipAction.REMOVE, member_values(value))
        elif attribute == "displayname":
            raise MutabilityException(detail="displayName is required and cannot be removed")
        else:
            self._document.pop("externalId", None)

    def _step(self, action: MembershipAction, members: list[MemberRef]) -> None:
        self._steps.append(MembershipStep(action, tuple(members)))


def member_filter_values(expression: str) -> list[str]:
    """The ids a member filter selects: `value eq "x"`, joined by `or`, nothing else."""
    # Outside the `try`: a filter past the limits is invalidFilter, as RFC 7644 §3.12 has it
    # for a PATCH path's filter, where one that does not parse is an invalid path. Many
    # members at a time are removed by naming them in the operation's value instead.
    check_filter_size(expression)
    try:
        node = ScimFilter(expression).ast
    except (InvalidFilterException, ValueError) as error:
        shown = expression if len(expression) <= 80 else expression[:80] + "..."
        raise InvalidPathException(detail=f"cannot parse members[{shown}]: {error}") from None
    ids: list[str] = []

    def collect(current: Any) -> None:
        if isinstance(current, LogicalExpr) and current.op == LogicalOperator.or_:
            for term in current.terms:
                collect(term)
        elif (
            isinstance(current, Comparison)
            and current.op == CompareOperator.eq
            and current.attr_path.attr.lower() == "value"
            and current.attr_path.sub_attr is None
            and isinstance(current.value, str)
        ):
            ids.append(current.value)
        else:
            raise InvalidFilterException(
                detail='members are selected by value eq "id", joined by or'
            )

    collect(node)
    return ids
