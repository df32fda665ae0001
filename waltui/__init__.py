"""waltui: a live terminal dashboard for SQLite databases in WAL mode."""

__version__ = "0.1.0"
