"""The error answers every documented route may give (RFC 9457 problem details), for the
OpenAPI document: the status codes and the content type the API really returns."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"
_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
}
_WHY = {
    400: "Malformed request: a body, path or query that cannot be read.",
    401: "An API token is needed (Authorization: Bearer …).",
    403: "The token's holder may not do this.",
    404: "No such resource, or not this caller's.",
    405: "The method is not allowed here (see Allow).",
    413: "The body is larger than this route accepts.",
    422: "The request is readable but invalid: each problem names its field.",
    429: "Too many requests from this caller (see Retry-After).",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a router: each code with the problem-details schema."""
    return {
        code: {"description": _WHY[code], "content": {PROBLEM: {"schema": _SCHEMA}}}
        for code in (codes or tuple(_WHY))
    }
