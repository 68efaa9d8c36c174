"""Every domain's tables on one metadata: what Alembic and the tests' schema reset read.

Each table lives beside its domain's logic (models/<domain>/tables.py); importing this
module registers them all on `Base.metadata`.
"""

from models.audit import tables as audit_tables
from models.core.base import Base
from models.directory import tables as directory_tables
from models.events import tables as events_tables
from models.organizations import tables as organizations_tables
from models.roster import tables as roster_tables
from models.sso import tables as sso_tables
from models.tokens import tables as tokens_tables
from models.webhooks import tables as webhooks_tables

DOMAIN_TABLES = (
    audit_tables,
    directory_tables,
    events_tables,
    organizations_tables,
    roster_tables,
    sso_tables,
    tokens_tables,
    webhooks_tables,
)
metadata = Base.metadata
