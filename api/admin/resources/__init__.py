"""Admin API resources: thin nouns over `models.admin.administration.Administration`."""
