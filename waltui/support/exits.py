"""Every exit status waltui uses, in one place: `check` owns 0-3 (cron and monitoring
plugins read them), so usage, configuration and internal errors take the BSD sysexits
codes and never collide with a verdict about a database."""

OK = 0
WARNING = 1  # check: some finding is a warning
CRITICAL = 2  # check: some finding is critical
UNREADABLE = 3  # check: a database could not be read (nothing can be vouched for it)
USAGE = 64  # EX_USAGE: a bad command line (unknown command, bad option, not a terminal)
DATA_ERROR = 65  # EX_DATAERR: a recording that cannot be read (damaged, or another schema)
UNAVAILABLE = 69  # EX_UNAVAILABLE: `export` could not listen (the address is taken)
INTERNAL = 70  # EX_SOFTWARE: a bug in waltui; the traceback is in the log file
CANNOT_CREATE = 73  # EX_CANTCREAT: `snapshot --textfile` could not write its file
IO_ERROR = 74  # EX_IOERR: `record` stopped: its file could not be written (disk full)
CONFIG = 78  # EX_CONFIG: the configuration file or a setting is wrong
INTERRUPTED = 130  # Ctrl-C
CLOSED_PIPE = 141  # the reader went away (`| head`)

DESCRIPTIONS = {
    OK: "ok (check: no finding above info)",
    WARNING: "check: a warning",
    CRITICAL: "check: a critical finding",
    UNREADABLE: "check: a database could not be read",
    USAGE: "usage error (unknown command or option; the dashboard without a terminal)",
    DATA_ERROR: "a recording that cannot be read (not one, damaged, or another schema version)",
    UNAVAILABLE: "export could not listen on its address (in use, or not this host's)",
    INTERNAL: "internal error: a bug in waltui, its traceback written to the log file",
    CANNOT_CREATE: "snapshot --textfile could not write into its directory",
    IO_ERROR: "record stopped because its file could not be written (disk full)",
    CONFIG: "configuration error (the file, a key, a type or a range)",
    INTERRUPTED: "interrupted (Ctrl-C)",
    CLOSED_PIPE: "the output pipe was closed (| head)",
}
