"""The audit trail: every SCIM request and every operator action, per organization."""
