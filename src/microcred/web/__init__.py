"""The web adapter: JSON API, public documents (did.json, status lists), and HTML pages."""
