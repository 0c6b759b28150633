"""Domain errors: a stable ``code`` (API contract) and a message for people, with the field."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, str]:
        data = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        return data


class NotFound(DomainError):  # noqa: N818 - reads as the HTTP meaning it maps to
    def __init__(self, what: str) -> None:
        super().__init__("not_found", f"{what} not found")


class Forbidden(DomainError):  # noqa: N818
    def __init__(self, message: str = "your role does not allow this") -> None:
        super().__init__("forbidden", message)
