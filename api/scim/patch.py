"""PATCH (RFC 7644 §3.5.2) applied to a stored User document, all operations or none.

scim2-models applies the operations. Real IdPs send shapes it reads differently, so each
request is first brought to the RFC's form here:
- Entra ID's manager as a bare id (`"value": "u9"`) becomes `{"value": "u9"}`;
- Okta's path-less value carries the resource's own `id` (and sometimes `meta`) back; an
  unchanged id is dropped, a different one is still a mutability error;
- attributes of schemas we do not serve, and undeclared keys of path-less values, are
  dropped, as they are for POST and PUT (an IdP mapping may add any attribute).
Capitalised ops, booleans as strings ("False"), dotted keys in path-less values, removal by
a value list and Entra ID's `add` through a filter that matches nothing are handled by
scim2-models under the policy below.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    Context,
    InvalidPathException,
    InvalidValueException,
    MutabilityException,
    PatchOp,
    Path,
    ScimPolicy,
    User,
)

from api.scim.filter_limits import check_filter_size
from api.scim.schemas import UserResource, clean_body

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

# How far scim2-models may follow Entra ID past the letter of RFC 7644.
IDP_POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

_SERVER_OWNED = ("id", "meta")


def patch_user_document(document: dict[str, Any], user_id: str, body: Any) -> User:
    """The User that results from applying a PatchOp body to a stored document.

    The operations work on a copy: if any of them fails, the caller's document is untouched
    and nothing is stored.
    """
    with IDP_POLICY:
        patch = PatchOp[UserResource].model_validate(
            normalize_patch(body, user_id), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        user = UserResource.model_validate(document)
        patch.patch(user)
        # Re-validate the result as a replacement, so a PATCH cannot store what a PUT could not.
        return UserResource.model_validate(
            user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE),
            scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
        )


def patch_envelope(body: Any) -> tuple[dict[str, Any], Any]:
    """A PatchOp body's other members and its `Operations` (named in any case); 400 unless
    the body is an object. What each operation must be is up to the resource's patch."""
    if not isinstance(body, dict):
        raise InvalidValueException(detail="the body must be a PatchOp object")
    operations = next(
        (value for key, value in body.items() if str(key).lower() == "operations"), None
    )
    others = {key: value for key, value in body.items() if str(key).lower() != "operations"}
    return others, operations


def normalize_patch(body: Any, resource_id: str) -> Any:
    """The PatchOp body in the form scim2-models reads as the RFC means it."""
    others, operations = patch_envelope(body)
    if not isinstance(operations, list):
        return body
    normalized = []
    for operation in operations:
        if isinstance(operation, dict):
            operation = _normalize_operation(operation, resource_id)
            if operation is None:
                continue
        normalized.append(operation)
    if operations and not normalized:
        # Every operation touched attributes we do not keep: a PATCH that changes nothing.
        normalized = [{"op": "add", "value": {}}]
    return {**others, "Operations": normalized}


def _normalize_operation(operation: dict[str, Any], resource_id: str) -> dict[str, Any] | None:
    """One operation in RFC form, or None when it only names attributes we do not keep."""
    operation = {str(key).lower(): value for key, value in operation.items()}
    path = operation.get("path")
    if isinstance(path, str) and not path.strip():
        operation.pop("path")
        path = None
    if path is None:
        if "value" in operation and isinstance(operation["value"], dict):
            operation["value"] = _pathless_value(operation["value"], resource_id)
        return operation
    if not isinstance(path, str):
        raise InvalidPathException(detail="path must be a string")
    # A value filter in the path (`emails[type eq "work"].value`) is held to a list filter's
    # limits before scim2-models parses it: it validates each term anew, a few milliseconds
    # for each email address, so thousands of them would hold a worker for many seconds.
    check_filter_size(path)
    if _foreign_schema(path):
        return None
    if "value" in operation:
        operation["value"] = _wrap_bare_reference(path, operation["value"])
    return operation


def _pathless_value(value: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """Keep the keys a path-less value may set: declared attributes, as paths or objects."""
    kept: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key)
        lowered = name.lower()
        if lowered == "id":
            if item != resource_id:
                raise MutabilityException(detail="id is read-only")
            continue
        if lowered == "meta":
            continue
        cleaned = clean_body({name: item}, UserResource)
        if cleaned:
            kept.update(cleaned)
        elif "." in name or lowered.startswith("urn:"):
            # A key that is an attribute path: Entra ID's "name.givenName", or a URN-qualified
            # extension attribute. It is parsed as a path, so it is held to a path's limits.
            check_filter_size(name)
            if _declared_path(name):
                kept[name] = _wrap_bare_reference(name, item)
    return kept


def _foreign_schema(path: str) -> bool:
    """Whether a path is qualified by a schema URN that no model of ours declares."""
    lowered = path.lower()
    if not lowered.startswith("urn:"):
        return False
    known = [UserResource.__schema__, *UserResource.get_extension_models()]
    return not any(lowered.startswith(str(urn).lower()) for urn in known)


def _declared_path(text: str) -> bool:
    if _foreign_schema(text):
        return False
    try:
        path = Path[UserResource](text)
        return path.model is not None or path.resolve() is not None
    except (InvalidPathException, ValueError):
        return False


def _wrap_bare_reference(path: str, value: Any) -> Any:
    """A bare string written to a single-valued reference (manager) means its `value`."""
    if not isinstance(value, str):
        return value
    try:
        binding = Path[UserResource](path).resolve()
    except (InvalidPathException, ValueError):
        return value
    if binding is None or binding.sub_field_name is not None or binding.is_multivalued:
        return value
    fields = getattr(binding.field_type, "model_fields", {})
    if "value" in fields and "ref" in fields:
        return {"value": value}
    return value
