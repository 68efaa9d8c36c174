"""The roster: members, roles and teams as the product enforces them, applied from the
directory by workers, or joined just in time through SSO."""
