"""Domain errors: a stable ``code`` (API contract) and a message for people, with the field.

Messages are translated when the error is raised (in the request's language): raise them where
the answer is produced, never keep one for another request.
"""

from __future__ import annotations

from microcred.i18n import N_, _


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


# what was not found -> the whole sentence (translated when raised)
NOT_FOUND = {
    "accreditation": N_("accreditation not found"),
    "API token": N_("API token not found"),
    "application": N_("application not found"),
    "artwork": N_("artwork not found"),
    "assessment": N_("assessment not found"),
    "award": N_("award not found"),
    "credential": N_("credential not found"),
    "definition": N_("definition not found"),
    "download": N_("download not found"),
    "evidence": N_("evidence not found"),
    "identity": N_("identity not found"),
    "learner": N_("learner not found"),
    "link": N_("link not found"),
    "micro-credential": N_("micro-credential not found"),
    "page": N_("page not found"),
    "pathway": N_("pathway not found"),
    "provider": N_("provider not found"),
    "shared page": N_("shared page not found"),
    "staff": N_("staff not found"),
    "staff member": N_("staff member not found"),
    "status list": N_("status list not found"),
    "upload": N_("upload not found"),
}


class NotFound(DomainError):  # noqa: N818 - reads as the HTTP meaning it maps to
    def __init__(self, what: str) -> None:
        sentence = NOT_FOUND.get(what)
        super().__init__(
            "not_found",
            _(sentence) if sentence else _("%(what)s not found") % {"what": what},
        )


class Forbidden(DomainError):  # noqa: N818
    def __init__(self, message: str | None = None) -> None:
        super().__init__("forbidden", message or _("your role does not allow this"))
