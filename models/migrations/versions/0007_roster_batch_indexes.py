"""index what every roster batch reads, so a batch costs the same in a large organization

Revision ID: 0007
Revises: 0006

A roster batch claims the oldest dirty users in (updated_at, id) order and then gives free
seats to members waiting for one. The dirty index held updated_at but not id, so each claim
sorted every dirty user of the organization to keep the first few hundred (a burst of
10,000 users sorted them ten times over); and nothing indexed waiting members, so each
batch read every member of the organization to find none. The dirty index now ends in id,
which makes a claim an ordered range scan that stops at its limit, and a partial index holds
only the members waiting for a seat, in the order they are granted one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DIRTY = sa.text("generation > applied_generation")
PENDING_SEAT = sa.text("status = 'pending_seat'")


def upgrade() -> None:
    with op.batch_alter_table("directory_users", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_users_dirty", sqlite_where=DIRTY, postgresql_where=DIRTY)
        batch_op.create_index(
            "ix_directory_users_dirty",
            ["organization_id", "updated_at", "id"],
            unique=False,
            sqlite_where=DIRTY,
            postgresql_where=DIRTY,
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_members_pending_seat",
            ["organization_id", "updated_at", "id"],
            unique=False,
            sqlite_where=PENDING_SEAT,
            postgresql_where=PENDING_SEAT,
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_members_pending_seat", sqlite_where=PENDING_SEAT, postgresql_where=PENDING_SEAT
        )
    with op.batch_alter_table("directory_users", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_users_dirty", sqlite_where=DIRTY, postgresql_where=DIRTY)
        batch_op.create_index(
            "ix_directory_users_dirty",
            ["organization_id", "updated_at"],
            unique=False,
            sqlite_where=DIRTY,
            postgresql_where=DIRTY,
        )
