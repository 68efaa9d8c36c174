"""What every domain stands on: the declarative base, engines and sessions, settings,
logs, errors, limits, and SQL that reads the same on PostgreSQL and SQLite."""
