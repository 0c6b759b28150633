"""The log formatters: JSON lines, the request id on every record, secret-named fields masked."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from microcred import logs
from microcred.config import ConfigError, _observability


def _record(
    message: str = "hello %s", *args: object, exc: bool = False, **extra: object
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("broken on purpose")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(
        "microcred.test", logging.WARNING, __file__, 1, message, args, exc_info
    )
    record.__dict__.update(extra)
    return record


def test_json_lines_have_the_expected_keys() -> None:
    line = logs.JsonFormatter().format(_record("hello %s", "world", status=200, path="/x"))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "microcred.test"
    assert entry["request_id"] is None
    assert entry["time"].endswith("+00:00")
    assert (entry["status"], entry["path"]) == (200, "/x")


def test_the_request_id_comes_from_the_context_or_the_record() -> None:
    with logs.request_context("req-1"):
        assert logs.current_request_id() == "req-1"
        assert json.loads(logs.JsonFormatter().format(_record()))["request_id"] == "req-1"
        assert "[req-1]" in logs.TextFormatter().format(_record())
        explicit = json.loads(logs.JsonFormatter().format(_record(request_id="req-2")))
        assert explicit["request_id"] == "req-2"
    assert logs.current_request_id() is None
    assert "[-]" in logs.TextFormatter().format(_record())


def test_tracebacks_are_kept_in_one_json_line() -> None:
    line = logs.JsonFormatter().format(_record("failed", exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert "Traceback" in entry["exception"]
    assert "ValueError: broken on purpose" in entry["exception"]
    text = logs.TextFormatter().format(_record("failed", exc=True, status=500))
    head, _, rest = text.partition("\n")
    assert head.endswith("failed status=500")
    assert "ValueError: broken on purpose" in rest


def test_secret_named_fields_are_masked() -> None:
    fields = {
        "password": "p4ss",
        "authorization": "Bearer abc",
        "api_token": "t0k",
        "cookie": "c00k",
        "signing_key": "k3y",
        "kek": "kk",
    }
    for formatter in (logs.JsonFormatter(), logs.TextFormatter()):
        line = formatter.format(_record(**fields))
        for value in fields.values():
            assert value not in line
        assert logs.MASK in line


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123_x.y", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("abc\n", False),
        ("a b", False),
        ("a\nb", False),
        ("<x>", False),
    ],
)
def test_sane_request_ids(given: str, kept: bool) -> None:
    assert (logs.sane_request_id(given) == given) is kept


def test_configure_replaces_only_its_own_handler() -> None:
    from microcred.config import Settings

    root = logging.getLogger()
    other = logging.NullHandler()
    root.addHandler(other)
    level = root.level
    try:
        settings = Settings("test", None, "", "", b"", "", log_format="json")  # type: ignore[arg-type]
        logs.configure(settings)
        logs.configure(settings)
        ours = [h for h in root.handlers if h.get_name() == "microcred"]
        assert len(ours) == 1
        assert isinstance(ours[0].formatter, logs.JsonFormatter)
        assert other in root.handlers
    finally:
        for handler in [h for h in root.handlers if h.get_name() == "microcred"]:
            root.removeHandler(handler)
        root.removeHandler(other)
        root.setLevel(level)


def test_settings_for_logs_and_metrics() -> None:
    assert _observability({}, False)["log_format"] == "text"
    assert _observability({}, True)["log_format"] == "json"
    env = {"MICROCRED_LOG_FORMAT": "JSON", "MICROCRED_LOG_LEVEL": "debug"}
    assert _observability(env, False) == {
        "log_format": "json",
        "log_level": "DEBUG",
        "metrics_token": None,
    }
    for bad in (
        {"MICROCRED_LOG_FORMAT": "xml"},
        {"MICROCRED_LOG_LEVEL": "loud"},
        {"MICROCRED_METRICS_TOKEN": "short"},
    ):
        with pytest.raises(ConfigError):
            _observability(bad, False)
