from typing import Any

def configure(
    tags: tuple[object, ...],
    unsupported: type[Exception],
    structural_keys: frozenset[str],
    max_depth: int,
) -> None: ...
def describe(
    document: dict[str, Any],
) -> tuple[tuple[Any, ...], list[str], list[str | None]]: ...
def copy_json(value: Any) -> Any: ...
def b58encode(data: bytes) -> str: ...
def b58decode(text: str) -> bytes: ...
def has_control(texts: list[str]) -> bool: ...
def serialize(
    node_specs: tuple[tuple[tuple[str, ...], tuple[tuple[str | int, ...], ...]], ...],
    line_specs: tuple[tuple[str | int, ...], ...],
    fixed_lines: tuple[str, ...],
    named: int,
    literal_slots: tuple[int, ...],
    values: list[str],
    memo: dict[int, tuple[tuple[str, ...], str]],
) -> str | None: ...
