"""SCIM protocol: schemas, payloads, PATCH, Bulk, listing parameters, discovery.

Imports neither Falcon nor a session. `sql/` is the one part that speaks SQLAlchemy: where
each attribute lives in our tables, and filters and sorts compiled over them.
"""
