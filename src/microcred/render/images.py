"""Badge images generated from a credential when the provider gave none (PNG via Pillow, SVG)."""

from __future__ import annotations

import base64
import hashlib
import io
from html import escape
from typing import Any

from PIL import Image, ImageDraw, ImageFont

SIZE = 400


def _facts(credential: dict[str, Any]) -> tuple[str, str, str, tuple[int, int, int]]:
    subject = credential.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {} if isinstance(subject, dict) else {}
    title = str(achievement.get("name") or credential.get("name") or "Micro-credential")
    issuer = credential.get("issuer")
    issuer_name = str(issuer.get("name", "")) if isinstance(issuer, dict) else ""
    level = ""
    for alignment in achievement.get("alignment") or []:
        if isinstance(alignment, dict) and str(alignment.get("targetCode", "")).startswith("EQF"):
            level = f"EQF {alignment['targetCode'][3:]}"
    digest = hashlib.sha256(title.encode()).digest()
    colour = (40 + digest[0] % 120, 60 + digest[1] % 120, 110 + digest[2] % 120)
    return title, issuer_name, level, colour


def _initials(title: str) -> str:
    words = [w for w in title.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:3]).upper() or "MC"


def badge_png(credential: dict[str, Any]) -> bytes:
    title, issuer_name, level, colour = _facts(credential)
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=colour, outline=(255, 255, 255), width=10)
    font = ImageFont.load_default(size=96)
    small = ImageFont.load_default(size=26)
    draw.text((SIZE / 2, SIZE / 2 - 30), _initials(title), fill="white", font=font, anchor="mm")
    if level:
        draw.text((SIZE / 2, SIZE / 2 + 60), level, fill="white", font=small, anchor="mm")
    if issuer_name:
        draw.text((SIZE / 2, SIZE - 70), issuer_name[:28], fill="white", font=small, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def badge_svg(credential: dict[str, Any]) -> str:
    title, issuer_name, level, colour = _facts(credential)
    fill = "#{:02x}{:02x}{:02x}".format(*colour)
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<circle cx="200" cy="200" r="188" fill="{fill}" stroke="#fff" stroke-width="10"/>',
        '<text x="200" y="190" font-family="sans-serif" font-size="96" fill="#fff" '
        f'text-anchor="middle" dominant-baseline="middle">{escape(_initials(title))}</text>',
    ]
    if level:
        lines.append(
            '<text x="200" y="262" font-family="sans-serif" font-size="26" fill="#fff" '
            f'text-anchor="middle">{escape(level)}</text>'
        )
    if issuer_name:
        lines.append(
            '<text x="200" y="338" font-family="sans-serif" font-size="24" fill="#fff" '
            f'text-anchor="middle">{escape(issuer_name[:28])}</text>'
        )
    lines.append("</svg>")
    return "\n".join(lines)


def svg_of(data: bytes, media_type: str) -> str:
    """Uploaded (already sanitised) artwork as SVG text: an SVG as it is, a PNG inside one."""
    if media_type == "image/svg+xml":
        return data.decode("utf-8")
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" '
        f'href="data:image/png;base64,{encoded}"/></svg>'
    )
