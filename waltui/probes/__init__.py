"""Probes read facts about a database and never write; none of them imports Textual."""
