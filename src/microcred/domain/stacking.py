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
from microcred.i18n import _


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
        raise DomainError(
            "pathway.rule_invalid", _("%(path)s must be an object") % {"path": path}, path
        )
    keys = set(rule)
    if keys == {"all"}:
        _children(rule["all"], f"{path}.all")
    elif keys == {"at_least", "of"}:
        children = _children(rule["of"], f"{path}.of")
        n = rule["at_least"]
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(children):
            raise DomainError(
                "pathway.rule_invalid",
                _("%(path)s.at_least must be 1..%(most)d") % {"path": path, "most": len(children)},
                path,
            )
    elif keys == {"credential"}:
        _match(rule["credential"], f"{path}.credential")
    elif keys in ({"min_ects"}, {"min_ects", "where"}):
        total = rule["min_ects"]
        if not isinstance(total, int | float) or isinstance(total, bool) or total <= 0:
            raise DomainError(
                "pathway.rule_invalid",
                _("%(path)s.min_ects must be a positive number") % {"path": path},
                path,
            )
        _match(rule.get("where", {}), f"{path}.where")
    else:
        raise DomainError(
            "pathway.rule_invalid",
            _("%(path)s: unknown rule %(keys)s") % {"path": path, "keys": sorted(keys)},
            path,
        )


def _children(value: Any, path: str) -> Sequence[Any]:
    if not isinstance(value, list) or not value:
        raise DomainError(
            "pathway.rule_invalid", _("%(path)s must be a non-empty list") % {"path": path}, path
        )
    for i, child in enumerate(value):
        validate(child, f"{path}[{i}]")
    return value


_MATCH_KEYS = {"achievement", "issuer", "min_eqf", "trusted", "within_years"}


def _match(match: Any, path: str) -> None:
    if not isinstance(match, Mapping):
        raise DomainError(
            "pathway.rule_invalid", _("%(path)s must be an object") % {"path": path}, path
        )
    unknown = set(match) - _MATCH_KEYS
    if unknown:
        raise DomainError(
            "pathway.rule_invalid",
            _("%(path)s: unknown condition(s) %(keys)s") % {"path": path, "keys": sorted(unknown)},
            path,
        )
    for key in ("achievement", "issuer"):
        if key in match and not (
            isinstance(match[key], list) and all(isinstance(v, str) for v in match[key])
        ):
            raise DomainError(
                "pathway.rule_invalid",
                _("%(path)s must be a list of strings") % {"path": f"{path}.{key}"},
                path,
            )


class _Match:
    """A MATCH with its sets and limits built once."""

    __slots__ = ("achievements", "description", "issuers", "min_eqf", "trusted", "within")

    def __init__(self, match: Mapping[str, Any], names: Mapping[str, str] | None = None) -> None:
        self.achievements = frozenset(match["achievement"]) if "achievement" in match else None
        self.issuers = frozenset(match["issuer"]) if "issuer" in match else None
        self.min_eqf = int(match["min_eqf"]) if "min_eqf" in match else None
        self.trusted = bool(match.get("trusted"))
        self.within = (
            timedelta(days=round(365.25 * float(match["within_years"])))
            if "within_years" in match
            else None
        )
        self.description = describe(match, names)

    def test(self, fact: CredentialFact, now: datetime) -> bool:
        if self.achievements is not None and self.achievements.isdisjoint(fact.achievement_ids):
            return False
        if self.issuers is not None and fact.issuer not in self.issuers:
            return False
        if self.min_eqf is not None and (fact.eqf is None or fact.eqf < self.min_eqf):
            return False
        if self.trusted and not fact.trusted:
            return False
        return self.within is None or fact.issued_at >= now - self.within


Index = Mapping[str, list[tuple[int, "CredentialFact"]]]


def index_facts(facts: Sequence[CredentialFact]) -> dict[str, list[tuple[int, CredentialFact]]]:
    """Facts by achievement id, with their positions (a rule uses the first that matches)."""
    index: dict[str, list[tuple[int, CredentialFact]]] = {}
    for position, fact in enumerate(facts):
        for achievement in fact.achievement_ids:
            index.setdefault(achievement, []).append((position, fact))
    return index


class Compiled:
    """A rule compiled once (sets, limits and descriptions built), evaluated many times: the
    same results as :func:`evaluate`, for scoring many learners against the same pathways."""

    __slots__ = ("children", "kind", "match", "n", "total", "where")

    def __init__(self, rule: Mapping[str, Any], names: Mapping[str, str] | None = None) -> None:
        """``names``: titles for the achievement identifiers the rule names (its words)."""
        self.children: tuple[Compiled, ...] = ()
        self.match: _Match | None = None
        self.n = 0
        self.total = 0.0
        self.where = ""  # min_ects: the condition, in words, for what is missing (or none)
        if "all" in rule:
            self.kind = "all"
            self.children = tuple(Compiled(r, names) for r in rule["all"])
        elif "at_least" in rule:
            self.kind = "at_least"
            self.n = int(rule["at_least"])
            self.children = tuple(Compiled(r, names) for r in rule["of"])
        elif "credential" in rule:
            self.kind = "credential"
            self.match = _Match(rule["credential"], names)
        else:
            self.kind = "min_ects"
            self.total = float(rule["min_ects"])
            self.match = _Match(rule.get("where", {}), names)
            self.where = self.match.description if rule.get("where") else ""

    def __call__(
        self, facts: Sequence[CredentialFact], now: datetime, index: Index | None = None
    ) -> Evaluation:
        """``index``: :func:`index_facts` of ``facts``, to share among several pathways."""
        return self._eval(facts, index if index is not None else index_facts(facts), now)

    def _eval(
        self,
        facts: Sequence[CredentialFact],
        index: Index,
        now: datetime,
    ) -> Evaluation:
        if self.kind == "all":
            children = tuple([c._eval(facts, index, now) for c in self.children])
            satisfied, progress = True, 0.0
            used: set[str] = set()
            gaps: list[str] = []
            for child in children:
                progress += child.progress
                gaps.extend(child.missing)
                if child.satisfied:
                    used.update(child.used)
                else:
                    satisfied = False
            return Evaluation(
                satisfied, progress / len(children), frozenset(used), tuple(gaps), children
            )
        if self.kind == "at_least":
            n = self.n
            children = tuple(c._eval(facts, index, now) for c in self.children)
            best = sorted(children, key=lambda c: c.progress, reverse=True)[:n]
            met = [c for c in children if c.satisfied]
            missing: tuple[str, ...] = ()
            if len(met) < n:
                missing = (
                    _("%(num)d more of: %(options)s")
                    % {
                        "num": n - len(met),
                        "options": "; ".join(
                            m for c in children if not c.satisfied for m in c.missing
                        ),
                    },
                )
            return Evaluation(
                satisfied=len(met) >= n,
                progress=min(1.0, sum(c.progress for c in best) / n),
                used=frozenset().union(*(c.used for c in met[:n])),
                missing=missing,
                children=children,
            )
        match = self.match
        assert match is not None
        if self.kind == "credential":
            if match.achievements is not None:  # only the facts for those achievements, in order
                candidates = sorted(
                    {p: f for a in match.achievements for p, f in index.get(a, ())}.items()
                )
                found = next((f for _p, f in candidates if match.test(f, now)), None)
            else:
                found = next((f for f in facts if match.test(f, now)), None)
            if found is not None:
                return Evaluation(True, 1.0, frozenset({found.id}))
            return Evaluation(False, 0.0, missing=(match.description,))
        counted = [f for f in facts if match.test(f, now)]
        ects = sum(f.ects for f in counted)
        satisfied = ects >= self.total
        gap = f"{self.total - ects:g}"
        return Evaluation(
            satisfied=satisfied,
            progress=min(1.0, ects / self.total),
            used=frozenset(f.id for f in counted) if satisfied else frozenset(),
            missing=()
            if satisfied
            else (
                _("%(ects)s more ECTS (%(condition)s)") % {"ects": gap, "condition": self.where}
                if self.where
                else _("%(ects)s more ECTS") % {"ects": gap},
            ),
        )


def evaluate(
    rule: Mapping[str, Any],
    facts: Sequence[CredentialFact],
    now: datetime,
    names: Mapping[str, str] | None = None,
) -> Evaluation:
    """Evaluate ``rule`` over eligible ``facts`` (call :func:`eligible` first). To evaluate the
    same rule for many learners, build :class:`Compiled` once and call it."""
    return Compiled(rule, names)(facts, now)


def describe(match: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """A MATCH in words (the reader's language); ``names``: titles for achievement identifiers
    (else the identifier)."""
    names = names or {}
    parts = []
    if "achievement" in match:
        titles = ", ".join(names.get(a, a) for a in match["achievement"])
        parts.append(_("one of %(titles)s") % {"titles": titles})
    if "issuer" in match:
        parts.append(_("from %(issuers)s") % {"issuers": ", ".join(match["issuer"])})
    if "min_eqf" in match:
        parts.append(_("EQF %(level)s or higher") % {"level": match["min_eqf"]})
    if match.get("trusted"):
        parts.append(_("from a recognised provider"))
    if "within_years" in match:
        parts.append(_("earned within %(years)s years") % {"years": match["within_years"]})
    if not parts:
        return _("a credential of any kind")
    return _("a credential %(conditions)s") % {"conditions": "; ".join(parts)}


@dataclass(frozen=True, slots=True)
class RuleLine:
    """One line of a rule in words, at its depth in the rule (0 for the top)."""

    depth: int
    text: str
    achievements: tuple[str, ...] = ()  # the identifiers this line names


def rule_lines(rule: Mapping[str, Any], names: Mapping[str, str] | None = None) -> list[RuleLine]:
    """A (valid) rule as nested lines of plain words, for a pathway's public page."""
    lines: list[RuleLine] = []

    def walk(node: Mapping[str, Any], depth: int) -> None:
        if "all" in node:
            lines.append(RuleLine(depth, _("All of the following:")))
            for child in node["all"]:
                walk(child, depth + 1)
        elif "at_least" in node:
            lines.append(
                RuleLine(depth, _("At least %(num)s of the following:") % {"num": node["at_least"]})
            )
            for child in node["of"]:
                walk(child, depth + 1)
        elif "credential" in node:
            match = node["credential"]
            lines.append(
                RuleLine(depth, describe(match, names), tuple(match.get("achievement", ())))
            )
        else:
            where = node.get("where") or {}
            ects = f"{node['min_ects']:g}"
            text = (
                _("At least %(ects)s ECTS in total, from %(credentials)s")
                % {"ects": ects, "credentials": describe(where, names)}
                if where
                else _("At least %(ects)s ECTS in total") % {"ects": ects}
            )
            lines.append(RuleLine(depth, text, tuple(where.get("achievement", ()))))

    walk(rule, 0)
    return lines


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
