"""Plumbing with no knowledge of SQLite or the UI: deadlines, interrupts, the garbage
collector's settings, safe reads of small files, the state directory, exit codes."""
