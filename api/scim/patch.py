"""PATCH (RFC 7644 §3.5.2) applied to a stored document, all operations or none."""

from __future__ import annotations

from typing import Any

from scim2_models import Context, PatchOp, User

from api.scim.schemas import UserResource, clean_body

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch_user_document(document: dict[str, Any], body: Any) -> User:
    """The User that results from applying a PatchOp body to a stored document.

    The operations work on a copy: if any of them fails, the caller's document is untouched
    and nothing is stored.
    """
    patch = PatchOp[UserResource].model_validate(
        _clean_operations(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST
    )
    user = UserResource.model_validate(document)
    patch.patch(user)
    # Re-validate the result as a replacement, so a PATCH cannot store what a PUT could not.
    return UserResource.model_validate(
        user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE),
        scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
    )


def _clean_operations(body: Any) -> Any:
    """Drop unknown attributes from path-less operation values, as for POST and PUT."""
    if not isinstance(body, dict):
        return body
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list):
        return body
    cleaned = []
    for operation in operations:
        if isinstance(operation, dict) and operation.get("path") is None:
            value = operation.get("value")
            if isinstance(value, dict) and not any("." in key for key in value):
                operation = {**operation, "value": clean_body(value, UserResource)}
        cleaned.append(operation)
    return {**body, "Operations": cleaned}
