"""index directory users in listing order, so pages and cursors are range scans

Revision ID: 0005
Revises: 0004

Every list of users is ordered by (created_at, id) within one organization, either as the
whole order or as its tie-break. Without this index each page sorted all of an
organization's users (a cursor walk was quadratic); with it a page by cursor is an index
range scan and a page by startIndex skips index entries.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("directory_users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_directory_users_listing_order",
            ["organization_id", "created_at", "id"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("directory_users", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_directory_users_listing_order",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
