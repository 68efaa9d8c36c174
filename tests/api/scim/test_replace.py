"""PUT on /Users honours mutability: what the server owns is kept, whatever the client sends."""

from __future__ import annotations

from tests.support.scim import ScimClient, okta_user


def created(scim: ScimClient) -> dict:
    response = scim.post("/Users", okta_user("ada@example.com"))
    assert response.status_code == 201, response.text
    return response.json


def test_id_and_meta_sent_back_are_ignored(scim: ScimClient):
    user = created(scim)
    body = {
        **user,
        "id": "not-the-id",
        "meta": {"created": "2001-01-01T00:00:00Z", "version": 'W/"999"'},
        "nickName": "Ada",
    }

    response = scim.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200, response.text
    assert response.json["id"] == user["id"]
    assert response.json["meta"]["created"] == user["meta"]["created"]
    assert response.json["meta"]["version"] != 'W/"999"'
    assert response.json["nickName"] == "Ada"


def test_a_put_without_id_or_meta_keeps_them(scim: ScimClient):
    user = created(scim)
    body = {key: value for key, value in user.items() if key not in ("id", "meta")}
    body["title"] = "Countess"

    response = scim.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200, response.text
    assert response.json["id"] == user["id"]
    assert response.json["meta"]["created"] == user["meta"]["created"]


def test_attributes_left_out_of_a_put_are_cleared(scim: ScimClient):
    user = created(scim)
    body = dict(user)
    del body["displayName"]

    response = scim.put(f"/Users/{user['id']}", body)

    assert "displayName" not in response.json


def test_the_password_is_accepted_but_never_returned(scim: ScimClient):
    user = created(scim)

    response = scim.put(f"/Users/{user['id']}", {**user, "password": "s3cret!"})

    assert response.status_code == 200
    assert "password" not in response.json
    assert "password" not in scim.get(f"/Users/{user['id']}").json


def test_a_put_to_an_unknown_id_is_404(scim: ScimClient):
    response = scim.put("/Users/0e0e0e0e-0000-0000-0000-000000000000", okta_user("x@example.com"))

    assert response.status_code == 404


def test_okta_sending_a_user_back_unchanged_changes_nothing(scim: ScimClient):
    user = created(scim)
    # Okta's Reapply Mappings: its own body again, with the id, its empty groups and password.
    body = {**okta_user("ada@example.com"), "id": user["id"], "password": "an0ther"}

    response = scim.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200, response.text
    assert response.json == user
    assert response.headers["ETag"] == user["meta"]["version"]


def test_the_same_user_in_other_letter_cases_is_still_unchanged(scim: ScimClient):
    user = created(scim)
    body = {key[0].upper() + key[1:]: value for key, value in user.items()}

    response = scim.put(f"/Users/{user['id']}", body)

    assert response.status_code == 200, response.text
    assert response.json["meta"]["version"] == user["meta"]["version"]


def test_a_user_restated_under_a_stale_if_match_is_refused(scim: ScimClient):
    user = created(scim)
    scim.put(f"/Users/{user['id']}", {**user, "title": "Countess"})

    response = scim.put(f"/Users/{user['id']}", user, headers={"If-Match": user["meta"]["version"]})

    assert response.status_code == 412
