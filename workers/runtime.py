"""What actors share within one worker process: settings and the database, made on first use."""

from __future__ import annotations

from functools import cache

from models.config import Settings
from models.db import Database


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def database() -> Database:
    return Database.from_url(settings().database_url, pool_size=4)
