"""What actors share within one worker process: settings and the database, made on first use."""

from __future__ import annotations

from models.core.config import Settings
from models.core.db import Database

_settings: Settings | None = None
_database: Database | None = None


def configure(settings: Settings, database: Database | None = None) -> None:
    """Point this process's actors at a given configuration (an in-process worker in tests)."""
    global _settings, _database
    _settings, _database = settings, database


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def database() -> Database:
    global _database
    if _database is None:
        _database = Database.from_url(settings().database_url, pool_size=4)
    return _database
