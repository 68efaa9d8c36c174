"""groups and teams: directory groups with one row per membership, roster teams

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from models.core.base import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("applied_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_directory_groups_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_groups")),
    )
    with op.batch_alter_table("directory_groups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_directory_groups_dirty",
            ["organization_id", "updated_at"],
            unique=False,
            sqlite_where=sa.text("generation > applied_generation"),
            postgresql_where=sa.text("generation > applied_generation"),
        )
        batch_op.create_index(
            "ix_directory_groups_organization_external_id",
            ["organization_id", "external_id"],
            unique=False,
        )
    # displayName is unique per organization in any case, among groups that are not deleted:
    # a group becomes a team, and a team's name is how people tell teams apart.
    op.create_index(
        "uq_directory_groups_organization_display_name",
        "directory_groups",
        ["organization_id", sa.text("lower(display_name)")],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )

    op.create_table(
        "directory_group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("display", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["directory_groups.id"],
            name=op.f("fk_directory_group_members_group_id_directory_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_directory_group_members_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["directory_users.id"],
            name=op.f("fk_directory_group_members_user_id_directory_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_directory_group_members")),
    )
    with op.batch_alter_table("directory_group_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_directory_group_members_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("directory_group_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_teams_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_teams_directory_group_id"), ["directory_group_id"], unique=False
        )
    op.create_index(
        "uq_teams_organization_name",
        "teams",
        ["organization_id", sa.text("lower(name)")],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("via_group", sa.Boolean(), nullable=False),
        sa.Column("via_attribute", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_team_members_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "member_id", name=op.f("pk_team_members")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_members_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_members_member_id"))
    op.drop_table("team_members")

    op.drop_index("uq_teams_organization_name", table_name="teams")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_directory_group_id"))
    op.drop_table("teams")

    with op.batch_alter_table("directory_group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_group_members_user_id"))
    op.drop_table("directory_group_members")

    op.drop_index("uq_directory_groups_organization_display_name", table_name="directory_groups")
    with op.batch_alter_table("directory_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_groups_organization_external_id")
        batch_op.drop_index(
            "ix_directory_groups_dirty",
            sqlite_where=sa.text("generation > applied_generation"),
            postgresql_where=sa.text("generation > applied_generation"),
        )
    op.drop_table("directory_groups")
