"""Readings rendered for the outside: text and JSON reports, check results (text, JSON,
Nagios), Prometheus metrics. One registry of formats (formats.py) feeds the parsers."""
