"""record the users each group change touched, so the roster applies only those

Revision ID: 0006
Revises: 0005

A group's team used to be brought in line by comparing every member of the group with every
member of the team, so one member added to a group of 50,000 cost a comparison of 50,000
rows (and held the group's row lock meanwhile). Each membership change now also writes the
users it touched, under the group's new generation; the roster reads those and compares
only them. A generation without rows (every group dirty at upgrade time among them) still
gets the whole comparison.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_group_member_changes",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["directory_groups.id"],
            name=op.f("fk_directory_group_member_changes_group_id_directory_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_directory_group_member_changes_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "group_id", "generation", "user_id", name=op.f("pk_directory_group_member_changes")
        ),
    )


def downgrade() -> None:
    op.drop_table("directory_group_member_changes")
