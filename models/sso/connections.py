"""The SSO connection: a SAML identity provider registered from its metadata XML.

Metadata comes from outside, so it is parsed defensively: a size limit first, then
defusedxml with DTDs, entity declarations and external references all refused (no billion
laughs, no XXE). What we keep is what a SAML login needs: the IdP's entity id, its
single sign-on URL and the certificates it signs with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.core.base import utcnow
from models.core.errors import InvalidValue, NotFound
from models.organizations.tables import Organization
from models.sso.tables import SsoConnection

MAX_METADATA_BYTES = 256 * 1024
METADATA_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
SIGNATURE_NS = "http://www.w3.org/2000/09/xmldsig#"
SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
# The bindings a browser-based login can use, in the order we prefer them.
SSO_BINDINGS = (
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
)


class InvalidMetadata(InvalidValue):
    """The metadata cannot be used; the message says what is wrong or missing."""


@dataclass(frozen=True)
class IdentityProviderMetadata:
    entity_id: str
    sso_url: str
    signing_certificates: list[str]


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def parse_idp_metadata(xml: bytes | str) -> IdentityProviderMetadata:
    """The entity id, SSO URL and signing certificates of a SAML 2.0 IdP's metadata."""
    raw = xml.encode() if isinstance(xml, str) else xml
    if len(raw) > MAX_METADATA_BYTES:
        raise InvalidMetadata(
            f"SAML metadata is limited to {MAX_METADATA_BYTES // 1024} KiB; got {len(raw)} bytes"
        )
    if not raw.strip():
        raise InvalidMetadata("the SAML metadata is empty")
    try:
        root = defusedxml.ElementTree.fromstring(raw, forbid_dtd=True)
    except defusedxml.DefusedXmlException as error:
        raise InvalidMetadata(
            f"SAML metadata may not declare a DTD, entities or external references ({error})"
        ) from None
    except ParseError as error:
        raise InvalidMetadata(f"the SAML metadata is not well-formed XML: {error}") from None
    entity = _identity_provider_entity(root)
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id:
        raise InvalidMetadata("the EntityDescriptor has no entityID")
    if len(entity_id) > 1024:
        raise InvalidMetadata("the entityID is longer than 1024 characters")
    descriptor = entity.find(_tag(METADATA_NS, "IDPSSODescriptor"))
    assert descriptor is not None  # _identity_provider_entity chose an entity that has one
    if SAML2_PROTOCOL not in (descriptor.get("protocolSupportEnumeration") or "").split():
        raise InvalidMetadata(f"the IDPSSODescriptor does not support {SAML2_PROTOCOL}")
    return IdentityProviderMetadata(
        entity_id=entity_id,
        sso_url=_sso_url(descriptor),
        signing_certificates=_signing_certificates(descriptor),
    )


def _identity_provider_entity(root: Element) -> Element:
    if root.tag == _tag(METADATA_NS, "EntityDescriptor"):
        entities = [root]
    elif root.tag == _tag(METADATA_NS, "EntitiesDescriptor"):
        entities = list(root.iter(_tag(METADATA_NS, "EntityDescriptor")))
    else:
        raise InvalidMetadata(
            f"expected a SAML 2.0 md:EntityDescriptor, found <{_local_name(root.tag)}>"
        )
    providers = [e for e in entities if e.find(_tag(METADATA_NS, "IDPSSODescriptor")) is not None]
    if not providers:
        raise InvalidMetadata(
            "the metadata describes no identity provider (no md:IDPSSODescriptor)"
        )
    if len(providers) > 1:
        raise InvalidMetadata(
            f"the metadata describes {len(providers)} identity providers; give exactly one"
        )
    return providers[0]


def _sso_url(descriptor: Element) -> str:
    services = {
        service.get("Binding"): (service.get("Location") or "").strip()
        for service in descriptor.findall(_tag(METADATA_NS, "SingleSignOnService"))
    }
    for binding in SSO_BINDINGS:
        location = services.get(binding)
        if location is None:
            continue
        parts = urlsplit(location)
        if parts.scheme != "https" or not parts.netloc:
            raise InvalidMetadata(f"the SingleSignOnService Location {location!r} is not https")
        if len(location) > 2048:
            raise InvalidMetadata("the SingleSignOnService Location is longer than 2048 characters")
        return location
    raise InvalidMetadata(
        "the IDPSSODescriptor has no SingleSignOnService with the HTTP-Redirect or "
        "HTTP-POST binding"
    )


def _signing_certificates(descriptor: Element) -> list[str]:
    certificates: list[str] = []
    for key in descriptor.findall(_tag(METADATA_NS, "KeyDescriptor")):
        if key.get("use") not in (None, "signing"):
            continue
        for element in key.iter(_tag(SIGNATURE_NS, "X509Certificate")):
            certificate = "".join((element.text or "").split())
            _check_certificate(certificate)
            if certificate not in certificates:
                certificates.append(certificate)
    if not certificates:
        raise InvalidMetadata(
            'the IDPSSODescriptor has no signing certificate (a KeyDescriptor use="signing" '
            "with a ds:X509Certificate)"
        )
    return certificates


def _check_certificate(certificate: str) -> None:
    """A base64 DER certificate: base64 that decodes to one ASN.1 SEQUENCE of the right size."""
    try:
        der = base64.b64decode(certificate, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMetadata("a ds:X509Certificate is not valid base64") from None
    if len(der) < 64 or der[0] != 0x30 or _der_length(der) != len(der):
        raise InvalidMetadata("a ds:X509Certificate is not a DER-encoded X.509 certificate")


def _der_length(der: bytes) -> int:
    """The total length the outer DER element announces (header included)."""
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return -1
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def certificate_fingerprint(certificate: str) -> str:
    """The SHA-256 fingerprint admins compare with their IdP's console (AB:CD:...)."""
    digest = hashlib.sha256(base64.b64decode(certificate)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def get_sso_connection(session: Session, organization: Organization) -> SsoConnection:
    connection = session.scalar(
        select(SsoConnection).where(SsoConnection.organization_id == organization.id)
    )
    if connection is None:
        raise NotFound(f"{organization.slug!r} has no SSO connection")
    return connection


def set_sso_connection(
    session: Session, organization: Organization, metadata_xml: bytes | str, created_by: str
) -> tuple[SsoConnection, bool]:
    """Register or replace the organization's IdP; returns the connection and "replaced"."""
    metadata = parse_idp_metadata(metadata_xml)
    try:
        text = metadata_xml.decode("utf-8") if isinstance(metadata_xml, bytes) else metadata_xml
    except UnicodeDecodeError:
        raise InvalidMetadata("send the SAML metadata encoded as UTF-8") from None
    connection = session.scalar(
        select(SsoConnection).where(SsoConnection.organization_id == organization.id)
    )
    replaced = connection is not None
    now = utcnow()
    if connection is None:
        connection = SsoConnection(organization_id=organization.id, created_at=now)
        session.add(connection)
    connection.entity_id = metadata.entity_id
    connection.sso_url = metadata.sso_url
    connection.signing_certificates = metadata.signing_certificates
    connection.metadata_xml = text
    connection.created_by = created_by
    connection.updated_at = now
    session.flush()
    return connection, replaced


def remove_sso_connection(session: Session, organization: Organization) -> SsoConnection:
    """Forget the IdP. Members stay; SCIM that is on stays on; a new SCIM enable is refused."""
    connection = get_sso_connection(session, organization)
    session.delete(connection)
    session.flush()
    return connection
