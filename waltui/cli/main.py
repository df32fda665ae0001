"""Entry points: `waltui PATH...`, `demo`, `snapshot`, `check`, `export`, `config check`,
`completion`.

Dispatch only; the work lives in the layers. Textual is imported only for the dashboard, so
`snapshot` and `check` start fast and run where no terminal is. Every failure ends in one
line and an exit code of waltui.support.exits; a crash also leaves its traceback in a log file.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from waltui import __version__
from waltui.cli.args import COMMANDS, UsageError, build_parser, main_help, near_command
from waltui.config import Config, ConfigError, effective_settings, load_with_sources
from waltui.outputs.report import envelope
from waltui.probes.discovery import discover
from waltui.support import exits
from waltui.support.state_dir import state_dir
from waltui.units import literal_lines, visible

if TYPE_CHECKING:
    from waltui.recording.writer import Recorder


# `check --format nagios`: every failure is the plugin's UNKNOWN line on stdout, exit 3
_plugin = False


def main(argv: Sequence[str] | None = None) -> int:
    global _plugin
    args = list(sys.argv[1:] if argv is None else argv)
    _plugin = args[:1] == ["check"] and _asks_nagios(args)
    if "--debug" in args or os.environ.get("WALTUI_LOG", "").lower() == "debug":
        _start_log("DEBUG", args)
    try:
        return _main(list(args))
    except UsageError as exc:
        if _plugin:
            return _unknown(str(exc))
        print(exc.usage, end="", file=sys.stderr)
        print(f"{visible(exc)}\n(waltui --help lists every command and option)",
              file=sys.stderr)
        return exits.USAGE
    except BrokenPipeError:
        # The reader went away (`waltui snapshot --json | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.CLOSED_PIPE
    except KeyboardInterrupt:  # Ctrl-C during `check --for` or `snapshot --watch`
        print("waltui: interrupted", file=sys.stderr)
        return exits.INTERRUPTED
    except Exception as exc:  # a bug: one line here, the traceback in the log file
        import logging
        import traceback

        where = _start_log("ERROR", args)
        logging.getLogger("waltui").error("internal error in %s\n%s", args,
                                          traceback.format_exc())
        said = f"internal error: {type(exc).__name__}: {exc} (traceback {where})"
        if _plugin:
            return _unknown(said)
        print(f"waltui: {visible(said)}; --debug logs more", file=sys.stderr)
        return exits.INTERNAL


def _has_screen() -> bool:
    """A terminal on stdin and stdout, or a Textual driver named by whoever runs us on pipes
    (textual-serve sets TEXTUAL_DRIVER to its web driver: the browser is the screen)."""
    return (sys.stdout.isatty() and sys.stdin.isatty()) or bool(os.environ.get("TEXTUAL_DRIVER"))


def _asks_nagios(args: list[str]) -> bool:
    """--format nagios or --format=nagios, read as argparse reads it (nothing after --)."""
    words = args[:args.index("--")] if "--" in args else args
    return any(w == "--format=nagios" or (w == "--format" and words[i + 1:i + 2] == ["nagios"])
               for i, w in enumerate(words))


def _unknown(reason: str) -> int:
    from waltui.outputs.nagios import UNKNOWN, unknown_line

    print(unknown_line(reason))
    return UNKNOWN


# Commands that run headless, often as services: their log goes to stderr, which journald
# (or cron's mail, or the shell) already keeps; the dashboard owns the terminal, so its log
# goes to a file.
HEADLESS = ("snapshot", "check", "export", "record", "config", "completion", "examples",
            "serve")


def _log_file_argument(args: list[str]) -> str | None:
    """--log-file FILE or --log-file=FILE, read before argparse (a crash in parsing is
    logged too); nothing after --."""
    words = args[:args.index("--")] if "--" in args else args
    for i, word in enumerate(words):
        if word.startswith("--log-file="):
            return word.split("=", 1)[1] or None
        if word == "--log-file" and i + 1 < len(words):
            return words[i + 1]
    return None


def _start_log(level_name: str, args: list[str]) -> str:
    """Start the log once and say where it goes ("in FILE" or "above, on stderr").
    logging is imported here, not at start: `snapshot` starts ~9 ms sooner."""
    import logging

    level = logging.getLevelName(level_name)
    logger = logging.getLogger("waltui")
    logger.setLevel(min(level, logger.level or level))
    if logger.handlers:
        return _where(logger.handlers[0])
    wanted = _log_file_argument(args)
    if wanted is None and args[:1] != [] and args[0] not in HEADLESS:
        wanted = os.path.join(state_dir(), "waltui.log")
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if wanted is not None:
        try:
            if wanted == os.path.join(state_dir(), "waltui.log"):
                os.makedirs(state_dir(), exist_ok=True)
            handler = logging.FileHandler(wanted)
        except OSError as exc:
            print(f"waltui: cannot log to {visible(wanted)} ({exc.strerror}); logging to "
                  "stderr", file=sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.debug("waltui %s, Python %s, argv %s", __version__, sys.version.split()[0],
                 [visible(arg) for arg in sys.argv])
    return _where(handler)


def _where(handler: object) -> str:
    name = getattr(handler, "baseFilename", None)
    return f"in {visible(name)}" if name else "above, on stderr"


def _main(args: list[str]) -> int:
    if not args:
        print(main_help(), end="", file=sys.stderr)
        return exits.USAGE
    if args[0] in ("-h", "--help"):
        print(main_help(), end="")
        return exits.OK
    command = args.pop(0) if args[0] in COMMANDS and args[0] else ""
    if not command and not args[0].startswith("-") and not os.path.lexists(args[0]) \
            and (near := near_command(args[0])) is not None:
        return _usage(f"{args[0]} is not a command and no such file exists; "
                      f"did you mean `waltui {near}`?")
    options = build_parser(command).parse_args(args)
    if command == "completion":
        from waltui.cli.completion import completion

        print(completion(options.shell), end="")
        return exits.OK
    if command == "serve":
        from waltui.cli.serve import run_serve

        return run_serve(options.dashboard, listen=options.listen, no_auth=options.no_auth)
    if command == "examples":
        from waltui.cli.examples import list_examples, write_examples

        return write_examples(options.write) if options.write else list_examples()
    try:
        if command == "config" and options.action == "schema":
            from waltui.config_schema import schema_text

            print(schema_text(), end="")
            return exits.OK
        if command == "config":
            return config_check(options.file)
        config, _ = load_with_sources(
            options.config, queue_specs=options.queue, threshold_specs=options.threshold,
            interval=getattr(options, "interval", None),
            read_only=getattr(options, "read_only", False), sql=not options.no_sql,
            lock_source=getattr(options, "lock_source", None))
    except ConfigError as exc:
        if _plugin:
            return _unknown(f"configuration: {exc}")
        print(f"waltui: {visible(exc)}", file=sys.stderr)
        return exits.CONFIG
    if command in ("", "demo"):
        config = replace(config, collector=options.collector)
    if command in ("", "demo", "replay") and not _has_screen():
        return _usage("the dashboard needs a terminal; for files, pipes and cron use "
                      "`waltui snapshot` or `waltui check`")
    if command == "replay":
        from waltui.cli.recording import run_replay
        return run_replay(options.file, config)
    limits = None
    if command == "check":
        from waltui.outputs.nagios import Limits, parse_range
        try:
            limits = Limits(config.thresholds,
                            parse_range(options.warning) if options.warning else None,
                            parse_range(options.critical) if options.critical else None)
        except ValueError as exc:
            return _usage(f"-w/-c: {exc}")
    if command == "check" and options.recording:
        if options.paths:
            return _usage("check --from FILE judges a recording: give no PATH beside it")
        from waltui.cli.recording import check_from
        return check_from(options.recording, output=options.format or
                          ("json" if options.json else "text"), limits=limits)
    if command == "snapshot" and options.at:
        if len(options.paths) != 1 or options.watch:
            return _usage("snapshot --at TIME FILE reads one recording (no --watch)")
        from waltui.cli.recording import snapshot_at
        return snapshot_at(options.paths[0], options.at, options.format or
                           ("prometheus" if options.textfile else "json" if options.json
                            else "text"), options.textfile)
    recorder = None
    if command in ("", "demo") and options.record:
        from waltui.recording.schema import RecordingError
        from waltui.recording.writer import create_recorder
        try:
            from waltui.probes.culprit import holders_evidence
            recorder = create_recorder(options.record, interval=config.interval,
                                       describe=holders_evidence)
        except RecordingError as exc:
            print(f"waltui: {exc}", file=sys.stderr)
            return exits.CANNOT_CREATE
    if command == "demo":
        from waltui.cli.demo import run_demo
        return _said_recorded(recorder, run_demo(config, seed=options.seed,
                                                 directory=options.dir, recorder=recorder))
    found = discover(options.paths)
    paths = found.paths
    # the dashboard puts them in its event log
    if command in ("snapshot", "check", "export", "record"):
        for note in found.skipped:  # a directory's other files: counted, never dropped unsaid
            print(f"waltui: {visible(note)}", file=sys.stderr)
    if not paths:
        return _usage("no database paths given (or no SQLite file matched); "
                      "waltui --help lists the commands")
    if command == "snapshot":
        output = options.format or ("json" if options.json else
                                    "prometheus" if options.textfile else
                                    "ndjson" if options.watch else "text")
        if options.textfile and (output != "prometheus" or options.watch):
            return _usage("--textfile writes one Prometheus poll (run it from a timer); "
                          "drop --format and --watch")
        if options.watch:
            return watch(paths, config, output, options.count)
        return snapshot(paths, config, output=output,
                        textfile=options.textfile)
    if command == "check":
        from waltui.cli.check import run_check
        return run_check(paths, config, output=options.format or
                         ("json" if options.json else "text"),
                         watch_seconds=options.watch_seconds, limits=limits,
                         timeout=options.timeout)
    if command == "export":
        from waltui.exporters.server import run_export
        return run_export(paths, config, listen=options.listen,
                          bearer_file=options.bearer_token_file,
                          basic_file=options.basic_auth_file, no_auth=options.no_auth,
                          sources=options.paths,
                          rescan=options.rescan, web_config=options.web_config_file,
                          allow_hosts=tuple(options.allow_host))
    if command == "record":
        from waltui.cli.recording import parse_duration, run_record
        try:
            seconds = parse_duration(options.duration) if options.duration else None
        except ValueError as exc:
            return _usage(f"--for {exc}")
        return run_record(paths, config, out=options.out, seconds=seconds)
    from waltui.ui.app import run_dashboard
    return _said_recorded(recorder, run_dashboard(paths, config, notes=found.skipped,
                                                  recorder=recorder))


def _said_recorded(recorder: Recorder | None, code: int) -> int:
    """--record: once the terminal is the shell's again, what was written where, and how
    to play it."""
    if recorder is not None:
        where = shlex.quote(recorder.path)
        if recorder.failed is not None:
            print(f"waltui: {visible(recorder.failed)}", file=sys.stderr)
        else:
            print(f"waltui: recorded {recorder.polls_written:,} polls to {visible(where)}; "
                  f"play them with: waltui replay {visible(where)}", file=sys.stderr)
    return code


def _usage(text: str) -> int:
    """Every usage error: one line (what was typed shown literally), exit 64."""
    if _plugin:
        return _unknown(text)
    print(f"waltui: {visible(text)}", file=sys.stderr)
    return exits.USAGE


def config_check(path: str | None) -> int:
    """Validate a config file and print every effective setting with where it came from."""
    config, sources = load_with_sources(path)
    rows = effective_settings(config, sources)
    width = max(len(key) for key, _, _ in rows)
    for key, value, source in rows:
        print(literal_lines(f"{key:<{width}}  {value!r:<24}  {source}"))
    return exits.OK


def snapshot(paths: list[str], config: Config, *, output: str,
             textfile: str | None = None) -> int:
    """One poll through the same Poller as check and the dashboard: every read under its
    deadline, so a hung mount or a FIFO costs only its own database."""
    from waltui.collector import Poller
    from waltui.outputs.report import write_snapshot

    poller = Poller(config)
    for path in paths:
        poller.attach(path)
    try:
        changes = poller.poll_once()
        if output == "prometheus" and poller.unconfirmed:  # findings: two polls must agree
            from waltui.cli.check import CONFIRM_PAUSE
            time.sleep(CONFIRM_PAUSE)
            changes = poller.poll_once()
    finally:
        poller.close()
    return write_snapshot(changes, output, textfile)


def watch(paths: list[str], config: Config, output: str, count: int | None,
          ) -> int:
    """`snapshot --watch`: a line per database per poll, flushed, for jq, Vector, Telegraf."""
    from waltui.collector import Poller
    from waltui.outputs.report import reading_json

    if output != "ndjson":
        return _usage("--watch prints NDJSON (one line per database per poll); "
                      "drop --format or use --format ndjson")
    poller = Poller(config)
    for path in paths:
        poller.attach(path)
    polls = 0
    try:
        while count is None or polls < count:
            started = time.monotonic()
            for update in poller.poll_once():
                line = {**envelope("reading"), **reading_json(update.reading),
                        "findings": [{"code": f.code, "severity": f.severity,
                                      "title": f.title} for f in update.findings]}
                print(json.dumps(line), flush=True)
            polls += 1
            if count is None or polls < count:
                time.sleep(max(0.0, config.interval - (time.monotonic() - started)))
    finally:
        poller.close()
    return exits.OK
