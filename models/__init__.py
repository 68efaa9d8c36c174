"""Storage and domain operations: configuration, tables, directory, roster, events."""
