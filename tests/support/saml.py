"""SAML IdP metadata for tests: a valid document, and the ways real ones go wrong."""

from __future__ import annotations

# A self-signed certificate whose private key was discarded: only ever a public value.
CERTIFICATE = (
    "MIIDGTCCAgGgAwIBAgIUMMW+PoCcb7RfgW7BOHSl2YmRU3AwDQYJKoZIhvcNAQELBQAwGzEZMBcGA1UEAwwQaWRw"
    "Mi5leGFtcGxlLmNvbTAgFw0yNjExMjgyMjI2NDdaGA8yMTI2MTEwNDIyMjY0N1owGzEZMBcGA1UEAwwQaWRwMi5l"
    "eGFtcGxlLmNvbTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAJ4TZ73P4iii98l84jLm8rrrqXm7z8u4"
    "ds8F4fIMTDESVB/nZNF4jXwoovaCjrJqWudVgMqWZvrEwjXVPVQHBB8BQzZ1t4FfY6OlKflUbJDTyx736RZhy/Jm"
    "9LEQkowAIan8Cm4gZmYFe/EsEyvtawebmvDTO5VnQRLLpSaFheslZDNFL/O+r1+uNI6EL1gtl4Cg1DiOuWcZ/wGn"
    "eYE+nKcy+AR2V0/94NJmMO/jomUEKZI2IZncOgg7cvIufgl1eVHdxAUMOcCgh1feXaveUaU+DVCJkNthMH9aI0+Q"
    "GXfflOkzJJ8Q9bHdegSzDreLJTf0WxYsxRVAeB1Wr1WPa28CAwEAAaNTMFEwHQYDVR0OBBYEFG+L/L3cxwwtJRE4"
    "6TP98jC1+SzMMB8GA1UdIwQYMBaAFG+L/L3cxwwtJRE46TP98jC1+SzMMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZI"
    "hvcNAQELBQADggEBAFcyLvCFucqeazMpGqcUx7SdlvLJrtd+WXWtbIH5taz+70lgVZBT1hE9vvJWLe/4ANyXLw6S"
    "zqINCMRgRub5/2woEH3eu/Xq5pfwFVEl+iwT5UlPzM0Lrx/QuvMUIHu0xue1tiGYEtOgBFRmtSvMUI/bwcA4hyJd"
    "kyGkJrXdvXvHo+zGsXitPbC0yO/NUfMyiWDTO8ZDHYH2yveRW4sQDQTmPtnFFvhCDnV3eVzFiWH0nxavlb5vjLXP"
    "iMe4zdL0wCXIn176AcLbhpl/M1yRKaEd8XQtKKVlcStNig5zBjpJoDMl7CSIDA4QeCP+oUgtplkU+h7vNbI4VZxl"
    "Xk+VQ0g="
)
METADATA_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def idp_metadata(
    entity_id: str | None = "https://idp.test/saml/acme",
    sso_url: str | None = "https://idp.test/saml/acme/sso",
    certificate: str | None = CERTIFICATE,
    binding: str = REDIRECT,
    key_use: str | None = "signing",
) -> str:
    """An IdP's metadata XML; pass None for a part to leave it out."""
    entity = f' entityID="{entity_id}"' if entity_id is not None else ""
    use = f' use="{key_use}"' if key_use else ""
    key = (
        f"<md:KeyDescriptor{use}><ds:KeyInfo><ds:X509Data>"
        f"<ds:X509Certificate>{certificate}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        if certificate is not None
        else ""
    )
    service = (
        f'<md:SingleSignOnService Binding="{binding}" Location="{sso_url}"/>'
        if sso_url is not None
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<md:EntityDescriptor xmlns:md="{METADATA_NS}" '
        f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"{entity}>'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f"{key}{service}</md:IDPSSODescriptor></md:EntityDescriptor>"
    )
