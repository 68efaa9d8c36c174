"""organization lifecycle: JIT and seat settings, domain challenges, SSO, operator tokens, audit

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from models.core.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# Plain ALTER TABLE ADD/DROP COLUMN, not batch mode: on SQLite a batch operation recreates
# the table, and dropping `organizations` with foreign keys on would cascade-delete every
# domain, directory user, member and event. SQLite (3.35+) adds and drops these columns in
# place. The defaults are plain strings ('1', '0'), which both backends read as booleans and
# which SQLite can add in place (an expression default would force a table rebuild); they let
# the previous release keep inserting organizations during a rolling deploy.


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("jit_enabled", sa.Boolean(), server_default="1", nullable=False),
    )
    op.add_column(
        "organizations",
        sa.Column("jit_with_scim", sa.Boolean(), server_default="0", nullable=False),
    )
    op.add_column("organizations", sa.Column("seat_limit", sa.Integer(), nullable=True))

    # Domains verified before this revision keep their verification; they have no challenge.
    op.add_column("domains", sa.Column("verification_method", sa.String(length=16), nullable=True))
    op.add_column("domains", sa.Column("challenge", sa.String(length=64), nullable=True))
    op.execute("UPDATE domains SET verification_method = 'operator' WHERE verified_at IS NOT NULL")

    op.create_table(
        "sso_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(length=1024), nullable=False),
        sa.Column("sso_url", sa.String(length=2048), nullable=False),
        sa.Column(
            "signing_certificates",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("metadata_xml", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_sso_connections_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_connections")),
        sa.UniqueConstraint("organization_id", name=op.f("uq_sso_connections_organization_id")),
    )

    op.create_table(
        "operator_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_tokens_token_hash")),
    )
    with op.batch_alter_table("operator_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_tokens_prefix"), ["prefix"], unique=False)

    op.create_table(
        "audit_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=255), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("token_prefix", sa.String(length=16), nullable=True),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_audit_records_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        # Per-organization pages by cursor, and the retention purge by age.
        batch_op.create_index(
            "ix_audit_records_organization_id_id", ["organization_id", "id"], unique=False
        )
        batch_op.create_index("ix_audit_records_occurred_at", ["occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_records_occurred_at")
        batch_op.drop_index("ix_audit_records_organization_id_id")
    op.drop_table("audit_records")

    with op.batch_alter_table("operator_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_tokens_prefix"))
    op.drop_table("operator_tokens")

    op.drop_table("sso_connections")

    op.drop_column("domains", "challenge")
    op.drop_column("domains", "verification_method")

    op.drop_column("organizations", "seat_limit")
    op.drop_column("organizations", "jit_with_scim")
    op.drop_column("organizations", "jit_enabled")
