"""SCIM protocol: schemas, payloads, filters, PATCH. Imports neither Falcon nor a session."""
