"""Record the collector's batches to a SQLite file, and play them back through the same
dashboard."""
