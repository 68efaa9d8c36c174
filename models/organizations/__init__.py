"""Organizations: their settings, email domains and the SCIM switch an admin turns on."""
