"""Single sign-on: each organization's SAML identity provider."""
