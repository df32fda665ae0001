"""The Textual dashboard: renders readings and dispatches keys; no probing happens here."""
