"""Typed errors of the InfluxQL query boundary. :class:`~seamline.storage.query_client.InfluxQLClient`
raises only these, so a caller decides from the type alone: try again later
(:class:`QueryUnavailableError`), fix credentials (:class:`QueryAuthError`), or fix the statement or
the layout (:class:`QueryRefusedError`: syntax, unknown database or retention policy).

Messages name the server and the server's reason, never credentials.
"""

from __future__ import annotations

__all__ = ["QueryAuthError", "QueryError", "QueryRefusedError", "QueryUnavailableError"]


class QueryError(Exception):
    """Base of every error the query client raises; ``status`` is the HTTP status if there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class QueryUnavailableError(QueryError):
    """The server could not be reached, timed out, was busy (429) or failed (5xx): retry later."""


class QueryAuthError(QueryError):
    """401/403: credentials (1.x user/password, 2.x token) missing, wrong or without read permission."""


class QueryRefusedError(QueryError):
    """The server refused a statement: a syntax error, an unknown database, retention policy or
    DBRP mapping, or a 4xx for the request itself."""
