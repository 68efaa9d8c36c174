"""The event feed: every roster change, numbered without gaps per organization."""
