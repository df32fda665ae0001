"""What an operator can do to a database or a process: the operations registry, checkpoints,
integrity checks, pragma changes, guided recovery, signals. Every one runs off the UI thread
and writes only on an explicit key press (or command)."""
