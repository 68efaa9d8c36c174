"""Errors leave as SCIM Error bodies with the right status, whatever went wrong."""

from __future__ import annotations

import pytest

from tests.support.scim import ScimClient, okta_group, okta_user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_scim_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json["schemas"] == [ERROR]
    assert response.json["status"] == str(status)
    return response.json


@pytest.mark.parametrize("path", ["/Widgets", "/Users/x/y", "/Groups/x/members", "/Me/x"])
def test_unknown_resource_types_and_paths_are_404(scim: ScimClient, path: str):
    assert_scim_error(scim.get(path), 404)


@pytest.mark.parametrize(
    "method, path",
    [
        ("DELETE", "/Users"),
        ("PUT", "/Groups"),
        ("PATCH", "/Groups"),
        ("POST", "/Users/some-id"),
        ("GET", "/Bulk"),
        ("DELETE", "/ServiceProviderConfig"),
    ],
)
def test_a_method_an_endpoint_lacks_is_405_with_allow(scim: ScimClient, method: str, path: str):
    response = scim.request(method, path, {"schemas": []})

    assert_scim_error(response, 405)
    assert response.headers["allow"]


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/Bulk"])
def test_another_media_type_is_415(scim: ScimClient, path: str):
    response = scim.request("POST", path, b"<user/>", headers={"Content-Type": "application/xml"})

    assert_scim_error(response, 415)


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/Bulk"])
def test_a_body_past_the_limit_is_413(scim: ScimClient, settings, path: str):
    body = b'{"displayName": "' + b"x" * settings.max_body_bytes + b'"}'

    assert_scim_error(scim.request("POST", path, body), 413)


@pytest.mark.parametrize(
    "body",
    [b"null", b"42", b'"x"', b"[]", b"{}", b'{"schemas": 1}', b'{"displayName": ["x"]}'],
)
@pytest.mark.parametrize("path", ["/Users", "/Groups"])
def test_bodies_of_the_wrong_shape_are_400(scim: ScimClient, path: str, body: bytes):
    response = scim.request("POST", path, body)

    error = assert_scim_error(response, 400)
    assert error["scimType"] in ("invalidValue", "invalidSyntax")


def test_the_entra_flag_on_the_base_url_is_accepted(scim: ScimClient):
    created = scim.post("/Users?aadOptscim062020", okta_user("ada@example.com"))
    listed = scim.get("/Users?aadOptscim062020&filter=userName%20eq%20%22ada%40example.com%22")
    group = scim.post("/Groups?aadOptscim062020", okta_group("Engineering"))

    assert created.status_code == 201
    assert listed.json["totalResults"] == 1
    assert group.status_code == 201


@pytest.mark.parametrize("count", ["x", "1.5"])
def test_a_bad_count_on_groups_is_400(scim: ScimClient, count: str):
    error = assert_scim_error(scim.get(f"/Groups?count={count}"), 400)

    assert error["scimType"] == "invalidValue"
