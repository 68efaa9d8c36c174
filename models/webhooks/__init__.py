"""Webhooks: who receives an organization's events, how far each has got, and signing."""
