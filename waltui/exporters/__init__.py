"""Consumers that carry readings out of waltui: Prometheus exposition and its HTTP exporter."""
