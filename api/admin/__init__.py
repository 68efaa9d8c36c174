"""The admin API under /admin/v1: operators manage organizations with operator tokens.

Every resource holds the `Administration` service (models/admin/administration.py), the
same one the CLI calls, and never a query. Routes are listed in one table in `routes.py`.
"""
