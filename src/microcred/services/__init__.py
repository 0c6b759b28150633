"""Use cases: one function each, one transaction each. The web and the CLI call these."""
