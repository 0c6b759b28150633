"""What the benchmarks that start real ``microcred`` processes share: a throwaway PostgreSQL
database, the environment that makes a process use the in-process app's settings, CPU seconds
from /proc. Standard library only at module level (the load generator's spawned processes
import their script again)."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def create_postgres_database(url: str, prefix: str) -> tuple[str, str]:
    """A new, empty database ``PREFIX_PID`` on the server ``url`` names: (its URL, its name)."""
    import psycopg
    from psycopg import sql

    url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}")), name


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def platform_environment(settings: Any) -> dict[str, str]:
    """``MICROCRED_*`` for a ``microcred`` process (``serve``, ``worker``): the in-process
    app's values, so it opens the same keys; JSON logs (read back); no SMTP URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MICROCRED_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        {
            "MICROCRED_ENV": settings.env,
            "MICROCRED_DATA_DIR": str(settings.data_dir),
            "MICROCRED_DATABASE_URL": settings.database_url,
            "MICROCRED_BASE_URL": settings.base_url,
            "MICROCRED_KEK": base64.b64encode(settings.kek).decode(),
            "MICROCRED_SECRET_KEY": settings.secret_key,
            "MICROCRED_ALLOW_HTTP_HOSTS": ",".join(sorted(settings.allow_http_hosts)),
            "MICROCRED_LOG_FORMAT": "json",  # production's default; read back at the end
        }
    )
    return env


def cpu_seconds(pid: int | str = "self") -> float | None:
    """User and system CPU seconds of a live process (its threads included), from /proc."""
    try:
        values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
