"""Administration: every operator verb, for the admin API and the CLI alike."""
