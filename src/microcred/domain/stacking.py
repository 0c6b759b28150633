"""Pathways: declarative rules that stack micro-credentials into a macro-credential.

A rule is JSON, nested at will::

    {"all": [RULE, ...]}                       every one
    {"at_least": N, "of": [RULE, ...]}         N of them
    {"credential": MATCH}                      one credential that matches
    {"min_ects": 10, "where": MATCH}           credentials that match, 10 ECTS in total
    MATCH = {"achievement": [ids], "issuer": [dids], "min_eqf": 4, "trusted": true,
             "within_years": 5}                (every key optional; all that are given must hold)

Only *eligible* credentials count: verified now (not revoked, suspended or expired), filtered by
the caller before evaluation (:func:`eligible`). A credential may satisfy several requirements
(rules name specific achievements, so this rarely matters, and it keeps progress monotonic: adding
a credential never lowers it). Progress is a number from 0 to 1: a leaf is 0 or 1 (``min_ects`` is
the share of the total reached), ``all`` averages, ``at_least N`` averages its N best.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from microcred.domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class CredentialFact:
    """What a rule needs to know about one credential the learner holds."""

    id: str
    achievement_ids: frozenset[str]
    name: str
    issuer: str
    ects: float
    eqf: int | None
    issued_at: datetime
    trusted: bool
    valid: bool = True  # verified now: signature, issuer, dates and status


@dataclass(frozen=True, slots=True)
class Evaluation:
    satisfied: bool
    progress: float
    used: frozenset[str] = frozenset()
    missing: tuple[str, ...] = ()
    children: tuple[Evaluation, ...] = field(default_factory=tuple)


def eligible(facts: Iterable[CredentialFact]) -> list[CredentialFact]:
    """Only credentials that verify now can count (never a revoked or expired one)."""
    return [f for f in facts if f.valid]


def validate(rule: Any, path: str = "rule") -> None:
    """Refuse a malformed rule with the place and reason."""
    if not isinstance(rule, Mapping) or len(rule) == 0:
        raise DomainError("pathway.rule_invalid", f"{path} must be an object", path)
    keys = set(rule)
    if keys == {"all"}:
        _children(rule["all"], f"{path}.all")
    elif keys == {"at_least", "of"}:
        children = _children(rule["of"], f"{path}.of")
        n = rule["at_least"]
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(children):
            raise DomainError(
                "pathway.rule_invalid", f"{path}.at_least must be 1..{len(children)}", path
            )
    elif keys == {"credential"}:
        _match(rule["credential"], f"{path}.credential")
    elif keys in ({"min_ects"}, {"min_ects", "where"}):
        total = rule["min_ects"]
        if not isinstance(total, int | float) or isinstance(total, bool) or total <= 0:
            raise DomainError(
                "pathway.rule_invalid", f"{path}.min_ects must be a positive number", path
            )
        _match(rule.get("where", {}), f"{path}.where")
    else:
        raise DomainError("pathway.rule_invalid", f"{path}: unknown rule {sorted(keys)}", path)


def _children(value: Any, path: str) -> Sequence[Any]:
    if not isinstance(value, list) or not value:
        raise DomainError("pathway.rule_invalid", f"{path} must be a non-empty list", path)
    for i, child in enumerate(value):
        validate(child, f"{path}[{i}]")
    return value


_MATCH_KEYS = {"achievement", "issuer", "min_eqf", "trusted", "within_years"}


def _match(match: Any, path: str) -> None:
    if not isinstance(match, Mapping):
        raise DomainError("pathway.rule_invalid", f"{path} must be an object", path)
    unknown = set(match) - _MATCH_KEYS
    if unknown:
        raise DomainError(
            "pathway.rule_invalid", f"{path}: unknown condition(s) {sorted(unknown)}", path
        )
    for key in ("achievement", "issuer"):
        if key in match and not (
            isinstance(match[key], list) and all(isinstance(v, str) for v in match[key])
        ):
            raise DomainError(
                "pathway.rule_invalid", f"{path}.{key} must be a list of strings", path
            )


def matches(fact: CredentialFact, match: Mapping[str, Any], now: datetime) -> bool:
    if "achievement" in match and not fact.achievement_ids & set(match["achievement"]):
        return False
    if "issuer" in match and fact.issuer not in match["issuer"]:
        return False
    if "min_eqf" in match and (fact.eqf is None or fact.eqf < int(match["min_eqf"])):
        return False
    if match.get("trusted") and not fact.trusted:
        return False
    if "within_years" not in match:
        return True
    return fact.issued_at >= now - timedelta(days=round(365.25 * float(match["within_years"])))


def evaluate(rule: Mapping[str, Any], facts: Sequence[CredentialFact], now: datetime) -> Evaluation:
    """Evaluate ``rule`` over eligible ``facts`` (call :func:`eligible` first)."""
    if "all" in rule:
        children = tuple(evaluate(r, facts, now) for r in rule["all"])
        return Evaluation(
            satisfied=all(c.satisfied for c in children),
            progress=sum(c.progress for c in children) / len(children),
            used=frozenset().union(*(c.used for c in children if c.satisfied)),
            missing=tuple(m for c in children for m in c.missing),
            children=children,
        )
    if "at_least" in rule:
        n = int(rule["at_least"])
        children = tuple(evaluate(r, facts, now) for r in rule["of"])
        best = sorted(children, key=lambda c: c.progress, reverse=True)[:n]
        met = [c for c in children if c.satisfied]
        missing: tuple[str, ...] = ()
        if len(met) < n:
            missing = (
                f"{n - len(met)} more of: "
                + "; ".join(m for c in children if not c.satisfied for m in c.missing),
            )
        return Evaluation(
            satisfied=len(met) >= n,
            progress=min(1.0, sum(c.progress for c in best) / n),
            used=frozenset().union(*(c.used for c in met[:n])),
            missing=missing,
            children=children,
        )
    if "credential" in rule:
        match = rule["credential"]
        found = [f for f in facts if matches(f, match, now)]
        if found:
            return Evaluation(True, 1.0, frozenset({found[0].id}))
        return Evaluation(False, 0.0, missing=(describe(match),))
    total = float(rule["min_ects"])
    where = rule.get("where", {})
    counted = [f for f in facts if matches(f, where, now)]
    ects = sum(f.ects for f in counted)
    satisfied = ects >= total
    return Evaluation(
        satisfied=satisfied,
        progress=min(1.0, ects / total),
        used=frozenset(f.id for f in counted) if satisfied else frozenset(),
        missing=()
        if satisfied
        else (f"{total - ects:g} more ECTS" + (f" ({describe(where)})" if where else ""),),
    )


def describe(match: Mapping[str, Any]) -> str:
    parts = []
    if "achievement" in match:
        parts.append("one of " + ", ".join(match["achievement"]))
    if "issuer" in match:
        parts.append("from " + ", ".join(match["issuer"]))
    if "min_eqf" in match:
        parts.append(f"EQF {match['min_eqf']} or higher")
    if match.get("trusted"):
        parts.append("from a recognised provider")
    if "within_years" in match:
        parts.append(f"earned within {match['within_years']} years")
    return "a credential " + ("; ".join(parts) if parts else "of any kind")


def all_achievements(rule: Mapping[str, Any]) -> set[str]:
    """Every achievement a rule names (to suggest definitions that would fill a gap)."""
    found: set[str] = set()
    stack: list[Any] = [rule]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if "achievement" in item and isinstance(item["achievement"], list):
                found.update(item["achievement"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
