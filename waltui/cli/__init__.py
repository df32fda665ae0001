"""The command line: parsing, dispatch, exit codes, the demo. Only dispatches: the work
lives in the layers below (docs/architecture.md)."""
