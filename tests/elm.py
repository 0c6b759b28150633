"""ELM 3 documents against the EDC application-profile SHACL shapes (pyshacl), offline: the
JSON-LD is expanded with the vendored contexts (``vc.loader.elm_loader``), never fetched."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pyshacl
from pyld import jsonld
from rdflib import Graph

from microcred.vc.canon import expand_strict
from microcred.vc.loader import elm_loader

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "elm"
NO_CV = "EDC-generic-no-cv.ttl"  # the application profile, controlled vocabularies unchecked
FULL = "EDC-generic-full.ttl"  # the vocabulary checks; it imports the profile (added here)


def sample() -> dict[str, Any]:
    """The Commission's Annex I micro-credential sample (unsigned)."""
    result: dict[str, Any] = json.loads((FIXTURES / "Sample-MC-Annex1-unsigned.jsonld").read_text())
    return result


def graph_of(document: dict[str, Any]) -> Graph:
    """The RDF of ``document``: strict expansion (an undefined term is an error, not dropped)."""
    loader = elm_loader()
    expanded = expand_strict(document, loader)
    nquads = jsonld.to_rdf(
        expanded,
        {
            "format": "application/n-quads",
            "documentLoader": loader,
            "contextResolver": loader.context_resolver(),
        },
    )
    graph = Graph()
    graph.parse(data=nquads, format="nt")  # the default graph only
    return graph


@cache
def shapes(profile: str) -> Graph:
    graph = Graph()
    graph.parse(FIXTURES / NO_CV, format="turtle")
    if profile == FULL:
        graph.parse(FIXTURES / FULL, format="turtle")
    return graph


def validate(document: dict[str, Any], profile: str = FULL) -> tuple[bool, Graph, str]:
    """pyshacl's verdict on ``document``: conforms, the report graph, the report text."""
    conforms, report, text = pyshacl.validate(
        graph_of(document), shacl_graph=shapes(profile), inference="none"
    )
    return bool(conforms), report, str(text)


def violated_paths(report: Graph) -> set[str]:
    """The result paths of a report's violations (full IRIs)."""
    rows = report.query(
        "PREFIX sh: <http://www.w3.org/ns/shacl#> "
        "SELECT ?path WHERE { ?result a sh:ValidationResult ; sh:resultPath ?path }"
    )
    return {str(row[0]) for row in rows}  # type: ignore[index]
