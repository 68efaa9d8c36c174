"""Errors the domain raises; the API and the CLI translate them, each in one place."""


class DomainError(Exception):
    """A request the domain refuses, with a message fit to show the person who made it."""


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class InvalidValue(DomainError):
    pass


class PreconditionFailed(DomainError):
    """The client's version of a resource is stale (If-Match)."""
