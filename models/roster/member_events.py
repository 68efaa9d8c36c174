"""The data of every `member.*` event: who the member is, and what they are now."""

from __future__ import annotations

from typing import Any


def member_event_data(
    *,
    email: str,
    status: str,
    role: str,
    display_name: str | None,
    user_id: str | None,
    external_id: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """One shape for every member event, so a consumer reads each the same way.

    `user_id` and `external_id` name the directory user that decided it (None for a member
    who joined through SSO); `extra` is what one kind of event adds (`source`, `repair`).
    """
    return {
        "email": email,
        "status": status,
        "role": role,
        "display_name": display_name,
        "user_id": user_id,
        "external_id": external_id,
        **extra,
    }
