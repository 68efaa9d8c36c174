"""SCIM queries as SQL: where each attribute of a resource type lives in our tables
(`mapping`), and filters and sorts compiled to SQLAlchemy expressions over them.

The rest of `api.scim` is wire protocol and builds no query.
"""
