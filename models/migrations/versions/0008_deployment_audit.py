"""audit records of the deployment: an operator action on no organization

Revision ID: 0008
Revises: 0007

Creating an operator token acts on the deployment, not on an organization, and the trail
had nowhere to put it. Such records have no organization.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.alter_column("organization_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # The deployment's records have no organization to keep them under.
    op.execute("DELETE FROM audit_records WHERE organization_id IS NULL")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.alter_column("organization_id", existing_type=sa.Integer(), nullable=False)
