"""One widget per file; each renders one part of a reading and redraws only on change."""
