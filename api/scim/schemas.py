"""The SCIM models scimgate serves, and the conversion of a request body to a directory write.

scim2-models validates against RFC 7643; real IdPs are looser than the RFC, so the body is
first brought to the shape the models accept: attributes nobody declared are dropped (an IdP
mapping may add any), which RFC 7644 allows a service provider to do.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import BaseModel as PydanticModel
from pydantic import Field
from scim2_models import (
    URN,
    Context,
    EnterpriseUser,
    Extension,
    Manager,
    Reference,
    Required,
    User,
)

from models.directory.tables import SCIM_NAME_LENGTH
from models.directory.users import SCIMGATE_USER_SCHEMA, UserWrite
from models.roster.tables import Role

CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class ScimgateUser(Extension):
    """scimgate's own User extension: the member's role and team in the organization."""

    __schema__ = URN(SCIMGATE_USER_SCHEMA)

    role: Annotated[str | None, Required.false] = Field(None, examples=list(Role))
    """The member's role: one of member, editor, owner. Members default to member."""

    team: Annotated[str | None, Required.false] = None
    """The name of a team the member belongs to; the team is created on demand."""


class EntraManager(Manager):
    """A manager named by its id alone, as Entra ID sends it: `$ref` is optional here."""

    ref: Annotated[Reference[User] | None, Required.false] = Field(  # type: ignore[type-arg]
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class ScimgateEnterpriseUser(EnterpriseUser):
    """The enterprise User extension, with a manager that needs no `$ref`."""

    manager: EntraManager | None = None


UserResource = User[ScimgateEnterpriseUser | ScimgateUser]

# Attributes the server owns: a client may send them back (Okta's PUT does) but never sets them.
SERVER_OWNED = {"id", "meta"}
# What a User body may carry that never reaches the stored document: what the server owns,
# `groups` (read-only on a User) and `password` (write-only; Okta sends it on every PUT).
NEVER_STORED = SERVER_OWNED | {"groups", "password"}


def clean_body(body: Any, model: type[PydanticModel]) -> dict[str, Any]:
    """Drop attributes the model does not declare, at every level, matching names in any case."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return _clean_object(body, model)


def _clean_object(body: dict[str, Any], model: type[PydanticModel]) -> dict[str, Any]:
    declared = _declared_attributes(model)
    cleaned: dict[str, Any] = {}
    for key, value in body.items():
        field = declared.get(key.lower())
        if field is None:
            continue
        if field == "schemas" and isinstance(value, list):
            # An IdP may list schemas we do not serve (Entra ID does, for Groups); their
            # attributes are dropped like any undeclared one, so their URNs go too.
            known = _known_schemas(model)
            value = [urn for urn in value if str(urn).lower() in known] or value
        annotation = _nested_model(model, field)
        if annotation is not None and isinstance(value, str) and _is_value_wrapper(annotation):
            # Entra ID sends a manager as its bare id: "manager": "u9".
            value = {"value": value}
        if annotation is not None and isinstance(value, dict):
            value = _clean_object(value, annotation)
        elif annotation is not None and isinstance(value, list):
            value = [_clean_object(v, annotation) if isinstance(v, dict) else v for v in value]
        cleaned[key] = value
    return cleaned


@functools.cache
def _declared_attributes(model: type[PydanticModel]) -> dict[str, str]:
    """Lower-cased wire names (aliases, extension URNs) to field names."""
    names: dict[str, str] = {}
    for field_name, info in model.model_fields.items():
        for alias in (info.serialization_alias, info.validation_alias, info.alias, field_name):
            if isinstance(alias, str):
                names[alias.lower()] = field_name
        extension = _extension_urn(info.annotation)
        if extension:
            names[extension.lower()] = field_name
    names["schemas"] = "schemas"
    return names


def _is_value_wrapper(model: type[PydanticModel]) -> bool:
    """Whether a complex attribute is a reference that a bare `value` string can stand for."""
    return "value" in model.model_fields and "ref" in model.model_fields


@functools.cache
def _known_schemas(model: type[PydanticModel]) -> frozenset[str]:
    """The lower-cased schema URNs a resource model serves: its own and its extensions'."""
    known = {str(getattr(model, "__schema__", "")).lower()}
    for info in model.model_fields.values():
        extension = _extension_urn(info.annotation)
        if extension:
            known.add(extension.lower())
    return frozenset(known)


def _extension_urn(annotation: Any) -> str | None:
    for candidate in _unwrap(annotation):
        schema = getattr(candidate, "__schema__", None)
        if schema and isinstance(candidate, type) and issubclass(candidate, Extension):
            return str(schema)
    return None


def _nested_model(model: type[PydanticModel], field_name: str) -> type[PydanticModel] | None:
    info = model.model_fields.get(field_name)
    if info is None:
        return None
    for candidate in _unwrap(info.annotation):
        if isinstance(candidate, type) and issubclass(candidate, PydanticModel):
            return candidate
    return None


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional[...], list[...], Annotated[...] and unions."""
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    found: list[Any] = []
    for arg in args:
        found.extend(_unwrap(arg))
    return found


def parse_user(body: Any, context: Context) -> User:
    """Validate a User body for creation or replacement; raises pydantic's ValidationError."""
    return UserResource.model_validate(clean_body(body, UserResource), scim_ctx=context)


def restates(body: Any, document: dict[str, Any]) -> bool:
    """Whether a User body says exactly what is stored, so validating it cannot change a thing.

    A full sync (Okta's Reapply Mappings, Entra ID's periodic cycle) sends most users back as
    they are. The stored document is the canonical output of validation, and validating a
    canonical document gives it back unchanged (tests hold us to that), so a body equal to
    it, once the attributes never stored are set aside, needs no validation at all.
    """
    if not isinstance(body, dict) or len(body) < len(document):
        return False
    stated = {key: value for key, value in body.items() if key not in NEVER_STORED}
    return stated == document


def user_document(user: User) -> dict[str, Any]:
    """The canonical stored document: what a client may read back, without `id` and `meta`."""
    document = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    document.pop("id", None)
    document.pop("meta", None)
    return document


def user_write(user: User) -> UserWrite:
    return write_of(user_document(user))


def write_of(document: dict[str, Any]) -> UserWrite:
    """The write of a canonical document and the columns derived from it."""
    extension = document.get(SCIMGATE_USER_SCHEMA)
    if extension and extension.get("role") is not None and Role.named(extension["role"]) is None:
        raise ValueError(f"role must be one of {', '.join(Role)}, not {extension['role']!r}")
    for attribute in ("userName", "externalId", "displayName"):
        check_name_length(attribute, document.get(attribute))
    return UserWrite(
        document=document,
        user_name=document["userName"],
        external_id=document.get("externalId"),
        display_name=document.get("displayName"),
        active=bool(document.get("active", True)),
        primary_email=_primary_email(document),
    )


def check_name_length(attribute: str, value: Any) -> None:
    """ValueError if a name is longer than its column holds (SCIM_NAME_LENGTH, beside it)."""
    if isinstance(value, str) and len(value) > SCIM_NAME_LENGTH:
        raise ValueError(f"{attribute} is longer than {SCIM_NAME_LENGTH} characters")


def _primary_email(document: dict[str, Any]) -> str | None:
    emails = document.get("emails") or []
    for email in emails:
        if email.get("primary") and email.get("value"):
            return str(email["value"])
    return None
