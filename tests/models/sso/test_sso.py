"""The SSO connection: SAML metadata parsed safely, stored, shown, replaced and removed."""

from __future__ import annotations

import base64
import hashlib

import pytest

from api.dev import DEMO_IDP_METADATA
from models.sso.connections import MAX_METADATA_BYTES, InvalidMetadata, parse_idp_metadata
from tests.support.admin import AdminClient
from tests.support.saml import CERTIFICATE, POST, idp_metadata

XML = {"Content-Type": "application/samlmetadata+xml"}


def fingerprint(certificate: str) -> str:
    digest = hashlib.sha256(base64.b64decode(certificate)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@pytest.fixture
def acme(admin: AdminClient) -> str:
    assert admin.post("/orgs", {"slug": "acme", "name": "Acme"}).status_code == 201
    return "acme"


class TestParsing:
    def test_a_plain_idp_metadata_gives_entity_id_sso_url_and_certificate(self):
        metadata = parse_idp_metadata(idp_metadata())

        assert metadata.entity_id == "https://idp.test/saml/acme"
        assert metadata.sso_url == "https://idp.test/saml/acme/sso"
        assert metadata.signing_certificates == [CERTIFICATE]

    def test_the_demo_metadata_is_valid(self):
        assert parse_idp_metadata(DEMO_IDP_METADATA).entity_id == (
            "https://idp.example.com/saml/demo"
        )

    def test_the_post_binding_and_a_key_without_use_are_accepted(self):
        metadata = parse_idp_metadata(idp_metadata(binding=POST, key_use=None))

        assert metadata.sso_url == "https://idp.test/saml/acme/sso"
        assert metadata.signing_certificates == [CERTIFICATE]

    def test_an_entities_descriptor_with_one_idp_is_accepted(self):
        entity = idp_metadata().split("?>", 1)[1]
        wrapped = (
            '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
            f"{entity}</md:EntitiesDescriptor>"
        )

        assert parse_idp_metadata(wrapped).entity_id == "https://idp.test/saml/acme"

    @pytest.mark.parametrize(
        "document, message",
        [
            ("", "the SAML metadata is empty"),
            ("<md:EntityDescriptor", "not well-formed XML"),
            ("<html><body>login</body></html>", "expected a SAML 2.0 md:EntityDescriptor"),
            (idp_metadata(entity_id=None), "has no entityID"),
            (idp_metadata(sso_url=None), "no SingleSignOnService with the HTTP-Redirect"),
            (idp_metadata(sso_url="http://idp.test/sso"), "is not https"),
            (idp_metadata(certificate=None), "no signing certificate"),
            (idp_metadata(key_use="encryption"), "no signing certificate"),
            (idp_metadata(certificate="not base64!"), "is not valid base64"),
            (idp_metadata(certificate="aGVsbG8gd29ybGQ="), "is not a DER-encoded X.509"),
            (
                idp_metadata()
                .replace(
                    '<md:IDPSSODescriptor protocolSupportEnumeration="'
                    'urn:oasis:names:tc:SAML:2.0:protocol">',
                    "<md:SPSSODescriptor>",
                )
                .replace("</md:IDPSSODescriptor>", "</md:SPSSODescriptor>"),
                "describes no identity provider",
            ),
        ],
    )
    def test_malformed_or_incomplete_metadata_is_refused_saying_what_is_wrong(
        self, document: str, message: str
    ):
        with pytest.raises(InvalidMetadata, match=message):
            parse_idp_metadata(document)

    def test_entity_declarations_are_refused_before_any_expansion(self):
        laughs = (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            "<lolz>&lol2;</lolz>"
        )

        with pytest.raises(InvalidMetadata, match="may not declare a DTD"):
            parse_idp_metadata(laughs)

    def test_external_entities_are_never_fetched_or_read(self, tmp_path):
        secret = tmp_path / "secret.txt"
        secret.write_text("the contents of a local file")
        xxe = (
            f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'entityID="&x;"/>'
        )

        with pytest.raises(InvalidMetadata) as refused:
            parse_idp_metadata(xxe)
        assert "the contents of a local file" not in str(refused.value)

    def test_metadata_past_the_size_limit_is_refused_before_parsing(self):
        padding = "<!-- " + "x" * MAX_METADATA_BYTES + " -->"

        with pytest.raises(InvalidMetadata, match="limited to 256 KiB"):
            parse_idp_metadata(idp_metadata() + padding)


class TestAdminApi:
    def test_put_xml_then_get_shows_the_connection_with_fingerprints(
        self, admin: AdminClient, acme: str
    ):
        put = admin.put("/orgs/acme/sso", idp_metadata(), headers=XML)

        assert put.status_code == 200, put.text
        shown = admin.get("/orgs/acme/sso").json
        assert shown["entity_id"] == "https://idp.test/saml/acme"
        assert shown["sso_url"] == "https://idp.test/saml/acme/sso"
        assert shown["signing_certificates"] == [
            {"sha256_fingerprint": fingerprint(CERTIFICATE), "base64": CERTIFICATE}
        ]
        assert shown["created_by"] == "operator alice"

    def test_json_with_metadata_xml_is_accepted_too(self, admin: AdminClient, acme: str):
        put = admin.put("/orgs/acme/sso", {"metadata_xml": DEMO_IDP_METADATA})

        assert put.status_code == 200
        assert put.json["entity_id"] == "https://idp.example.com/saml/demo"

    def test_replacing_keeps_one_connection_with_the_new_values_and_is_audited(
        self, admin: AdminClient, acme: str
    ):
        admin.put("/orgs/acme/sso", idp_metadata(), headers=XML)

        replaced = admin.put("/orgs/acme/sso", DEMO_IDP_METADATA, headers=XML)

        assert replaced.status_code == 200
        assert admin.get("/orgs/acme/sso").json["entity_id"] == (
            "https://idp.example.com/saml/demo"
        )
        actions = [r["action"] for r in admin.get("/orgs/acme/audit").json["records"]]
        assert actions[-2:] == ["sso.created", "sso.replaced"]

    def test_bad_metadata_is_400_and_leaves_the_old_connection(self, admin: AdminClient, acme: str):
        admin.put("/orgs/acme/sso", idp_metadata(), headers=XML)

        response = admin.put("/orgs/acme/sso", idp_metadata(entity_id=None), headers=XML)

        assert response.status_code == 400
        assert response.json == {
            "status": 400,
            "title": "400 Bad Request",
            "detail": "the EntityDescriptor has no entityID",
        }
        assert admin.get("/orgs/acme/sso").json["entity_id"] == "https://idp.test/saml/acme"

    def test_another_media_type_is_415(self, admin: AdminClient, acme: str):
        response = admin.put(
            "/orgs/acme/sso", idp_metadata(), headers={"Content-Type": "text/plain"}
        )

        assert response.status_code == 415

    def test_delete_removes_it_and_get_is_then_404(self, admin: AdminClient, acme: str):
        admin.put("/orgs/acme/sso", idp_metadata(), headers=XML)

        assert admin.delete("/orgs/acme/sso").status_code == 204
        missing = admin.get("/orgs/acme/sso")
        assert missing.status_code == 404
        assert missing.json["detail"] == "'acme' has no SSO connection"
        assert admin.delete("/orgs/acme/sso").status_code == 404


class TestCli:
    def test_set_show_replace_remove(self, cli, tmp_path):
        cli("org", "create", "acme", "--name", "Acme")
        first = tmp_path / "idp.xml"
        first.write_text(idp_metadata())
        second = tmp_path / "demo.xml"
        second.write_text(DEMO_IDP_METADATA)

        shown = cli("sso", "set", "acme", str(first)).stdout
        assert "entity id: https://idp.test/saml/acme" in shown
        assert f"signing certificate SHA-256: {fingerprint(CERTIFICATE)}" in shown
        cli("sso", "set", "acme", str(second))
        assert "https://idp.example.com/saml/demo" in cli("sso", "show", "acme").stdout

        removed = cli("sso", "remove", "acme").stdout
        assert "members stay" in removed
        assert "has no SSO connection" in cli("sso", "show", "acme", expect=1).stderr

    def test_bad_metadata_and_a_missing_file_fail_with_one_line(self, cli, tmp_path):
        cli("org", "create", "acme", "--name", "Acme")
        bad = tmp_path / "bad.xml"
        bad.write_text(idp_metadata(certificate=None))

        refused = cli("sso", "set", "acme", str(bad), expect=1)
        missing = cli("sso", "set", "acme", str(tmp_path / "nope.xml"), expect=1)

        assert refused.stderr.startswith("scimgate: the IDPSSODescriptor has no signing")
        assert "cannot read" in missing.stderr
