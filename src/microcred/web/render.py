"""Jinja2 templates (autoescaped) with the CSRF token and the signed-in user available."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from microcred import i18n
from microcred.domain.text import fold
from microcred.web.deps import csrf_token, refuse

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.autoescape = True
# {{ _("text") }} and {% trans %} in templates; Python code uses microcred.i18n._
i18n.install(templates.env)
# dates and numbers as the reader writes them: {{ d|date }}, {{ t|datetime }}, {{ n|number }}
templates.env.filters["date"] = i18n.format_date
templates.env.filters["datetime"] = i18n.format_datetime
templates.env.filters["number"] = i18n.format_number
templates.env.globals["current_language"] = i18n.current
templates.env.globals["languages"] = i18n.LANGUAGES
templates.env.globals["language_name"] = i18n.language_name


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page; one answered 4xx is a refusal, so the request's writes are rolled back."""
    if 400 <= status_code < 500:
        refuse(request)
    context.setdefault("staff", getattr(request.state, "staff", None))
    context.setdefault("learner", getattr(request.state, "learner", None))
    context["csrf_token"] = csrf_token(request)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def confirm(
    request: Request,
    *,
    heading: str,
    lines: list[str],
    action: str,
    button: str,
    back: str,
    fields: dict[str, str] | None = None,
    public: str | None = None,
) -> HTMLResponse:
    """The step before a destructive action: what will happen (and what becomes public), then
    the same request, confirmed, or back. Nothing is written until it is confirmed."""
    return render(
        request, "confirm.html", heading=heading, lines=lines, action=action, button=button,
        back=back, fields=fields or {}, public=public,
    )  # fmt: skip


def see_other(url: str) -> RedirectResponse:
    """The redirect after a form POST (303: the browser follows with a GET)."""
    return RedirectResponse(url, status_code=303)


def refused_to(request: Request, url: str, message: str) -> RedirectResponse:
    """Back to a page with the reason a use case refused; the request's writes are rolled
    back."""
    refuse(request)
    separator = "&" if "?" in url else "?"
    return see_other(url + separator + urlencode({"error": message}))


def too_many(
    request: Request, name: str, message: str, retry_after: int, **context: Any
) -> HTMLResponse:
    """The form again with HTTP 429 and ``Retry-After`` (sign-in throttling)."""
    response = render(request, name, status_code=429, error=message, **context)
    response.headers["Retry-After"] = str(retry_after)
    return response


def attachment(name: str, extension: str, fallback: str = "credential") -> dict[str, str]:
    """A ``Content-Disposition`` header naming a download after what it is (``Safe Lifting``,
    ``pdf`` -> ``safe-lifting.pdf``): lower-case ASCII words, at most 80 characters."""
    words = re.findall(r"[a-z0-9]+", fold(name).encode("ascii", "ignore").decode())
    stem = "-".join(words)[:80].strip("-") or fallback
    return {"Content-Disposition": f'attachment; filename="{stem}.{extension}"'}
