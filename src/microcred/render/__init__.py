"""Rendering credentials for people: badge images (PNG, SVG), QR codes, PDF certificates."""
