"""Outgoing email. In development and tests the outbox is a folder (``DATA_DIR/outbox``) shown
at ``/dev/outbox``: no mail server is needed. Each message is one JSON file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from microcred.services.app import App


def outbox_dir(app: App) -> Path:
    return app.settings.data_dir / "outbox"


def send(app: App, to: str, subject: str, body: str) -> Path:
    folder = outbox_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    moment = app.now()
    path = folder / f"{moment.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.json"
    path.write_text(
        json.dumps({"to": to, "subject": subject, "body": body, "sent": moment.isoformat()}),
        encoding="utf-8",
    )
    return path


def messages(app: App, to: str | None = None) -> list[dict[str, Any]]:
    folder = outbox_dir(app)
    if not folder.exists():
        return []
    found = [json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))]
    return [m for m in found if to is None or m["to"] == to]
