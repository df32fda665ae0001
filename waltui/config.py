"""Settings from a TOML file, overridden by the command line; one frozen Config for all layers."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from waltui.options import LOCK_SOURCES, LockSourceName, ObserveOptions, QueueQuery
from waltui.support.sql_words import not_one_read
from waltui.support.state_dir import config_dir

MiB = 1024 * 1024
DEFAULT_CONFIG = os.path.join(config_dir(), "config.toml")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Thresholds:
    """Where each health rule starts to speak; [thresholds] in the config file."""

    wal_bytes: int = 64 * MiB  # -wal larger than this is a warning
    wal_db_ratio: float = 2.0  # ... or larger than this many times the database
    wal_slack_ratio: float = 4.0  # -wal file this many times larger than its content
    wal_slack_min_bytes: int = 16 * MiB  # ... and at least this much wasted disk
    starvation_seconds: float = 5.0  # the WAL grew without restarting for this long
    queue_growth_seconds: float = 10.0  # a queue's depth rose (never fell) for this long
    write_hold_seconds: float = 5.0  # one transaction held the write lock this long: warning
    write_hold_critical_seconds: float = 30.0  # ... and this long: critical
    d_state_seconds: float = 2.0  # a lock holder in D state this long
    writer_rotation: int = 3  # distinct writer pids seen within the history window
    pin_seconds: float = 30.0  # a reader pinning the WAL this long is critical


@dataclass(frozen=True)
class Config:
    """Every setting, from defaults, the config file and the command line, in that order."""

    interval: float = 1.0
    read_only: bool = False
    read_only_why: str = ""  # set when something other than --read-only made it so
    queries: tuple[QueueQuery, ...] = ()
    presets: bool = True
    sql: bool = True  # False: files, locks and pins only; never opens the database
    query_limit_ms: float = 100.0
    sql_max_age: float = 10.0  # SQL values of an unchanged database are reused this long
    sql_min_age: float = 1.0  # queue queries run at most this often, changed or not
    checkpoint_deadline: float = 10.0
    checkpoint_journal_size_limit: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    keys: tuple[tuple[str, str], ...] = ()  # [keys]: (action, key) remaps for the dashboard
    interval_chosen: bool = False  # set in the file or on the command line (beats saved state)
    collector: str = "process"  # the dashboard's: "process" or "thread" (--collector)
    lock_source: LockSourceName = "auto"  # --lock-source

    @property
    def key_remap(self) -> dict[str, str]:
        return dict(self.keys)

    def observe_options(self) -> ObserveOptions:
        return ObserveOptions(queries=self.queries, sql=self.sql, presets=self.presets,
                              query_limit_ms=self.query_limit_ms,
                              sql_max_age=self.sql_max_age, sql_min_age=self.sql_min_age)


def parse_queue(spec: str) -> QueueQuery:
    name, sep, sql = spec.partition("=")
    if not sep or not name.strip() or not sql.strip():
        raise ConfigError(f"--queue wants NAME=SQL, got {spec!r}")
    if (reason := not_one_read(sql)) is not None:
        raise ConfigError(f"--queue {name.strip()}: {reason}")
    return QueueQuery(name.strip(), sql.strip())


@dataclass(frozen=True)
class Setting:
    """One key of the config file: its type and the range it accepts."""

    kind: type  # bool, int, float, or str (one of choices)
    above: float | None = None  # exclusive lower bound
    at_least: float | None = None  # inclusive lower bound
    optional: bool = False  # may be left out, meaning "not set"
    choices: tuple[str, ...] = ()  # the words a str setting takes
    about: str = ""  # what it sets, for the JSON Schema an editor shows

    def accepted(self) -> str:
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "one of " + ", ".join(self.choices)
        what = "a whole number" if self.kind is int else "a number"
        if self.above is not None:
            what += f" above {self.above:g}"
        if self.at_least is not None:
            what += f" of at least {self.at_least:g}"
        return what

    def check(self, value: object) -> object:
        """The value as its type, or a ConfigError saying what is accepted."""
        if self.kind is bool:
            if isinstance(value, bool):
                return value
        elif self.kind is str:
            if value in self.choices:
                return value
        elif isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value) and (self.kind is float or float(value).is_integer()):
            number = self.kind(value)
            if (self.above is None or number > self.above) and \
                    (self.at_least is None or number >= self.at_least):
                return number
        raise ConfigError(f"got {value!r}; accepted: {self.accepted()}")


TOP_SETTINGS: dict[str, Setting] = {
    "interval": Setting(float, above=0, about="seconds between polls"),
    "read_only": Setting(bool, about="refuse checkpoints and pragma changes"),
    "presets": Setting(bool, about="queue depths of known queue libraries' tables"),
    "sql": Setting(bool, about="false: never open the databases (files, locks, pins only)"),
    "query_limit_ms": Setting(float, above=0, about="a queue query is cut off after this"),
    "sql_max_age": Setting(float, at_least=0, about="seconds before a query that reads the "
                           "clock is read again on a database with no commit (0: every poll)"),
    "sql_min_age": Setting(float, at_least=0, about="run queue queries at most this often"),
    "lock_source": Setting(str, choices=LOCK_SOURCES, about="auto, proc (/proc/locks) or "
                           "getlk (F_GETLK byte by byte)"),
}
CHECKPOINT_SETTINGS: dict[str, Setting] = {
    "deadline": Setting(float, above=0, about="seconds a checkpoint may retry"),
    "journal_size_limit": Setting(int, at_least=0, optional=True,
                                  about="set on the checkpoint's connection"),
}
# What each threshold means: the comments of Thresholds, kept where the schema can read them.
THRESHOLD_ABOUT = {
    "wal_bytes": "-wal larger than this many bytes is a warning",
    "wal_db_ratio": "... or larger than this many times the database",
    "wal_slack_ratio": "-wal file this many times larger than its content",
    "wal_slack_min_bytes": "... and at least this many bytes of wasted disk",
    "starvation_seconds": "the WAL grew without restarting for this long",
    "queue_growth_seconds": "a queue's depth rose (never fell) for this long",
    "write_hold_seconds": "one transaction held the write lock this long: warning",
    "write_hold_critical_seconds": "... and this long: critical",
    "d_state_seconds": "a lock holder in D state this long",
    "writer_rotation": "distinct writer pids seen within the history window",
    "pin_seconds": "a reader pinning the WAL this long is critical",
}
THRESHOLD_SETTINGS: dict[str, Setting] = {
    f.name: Setting(type(f.default), at_least=0, about=THRESHOLD_ABOUT[f.name])
    for f in fields(Thresholds)
}
TABLES = ("queues", "thresholds", "checkpoint", "keys")


def _unknown(where: str, key: str, known: list[str]) -> ConfigError:
    import difflib  # only for a mistyped key

    near = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else f"; known: {', '.join(sorted(known))}"
    return ConfigError(f"{where}: unknown key {key!r}{hint}")


def _checked(where: str, key: str, value: object, setting: Setting) -> object:
    try:
        return setting.check(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {key}: {exc}") from None


def _number_from_text(text: str) -> object:
    """A --threshold or --interval value typed on the command line."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


Sources = dict[str, tuple[object, str]]  # setting -> (value, where it came from)


def _read_table(where: str, table: str, data: dict[str, object],
                settings: dict[str, Setting], sources: Sources) -> dict[str, Any]:
    """One [table] of the file, every key known and checked, each value's source noted."""
    values: dict[str, object] = {}
    for key, value in dict(data.get(table, {})).items():  # type: ignore[call-overload]
        if key not in settings:
            raise _unknown(f"{where}: [{table}]", key, list(settings))
        values[key] = _checked(f"{where}: [{table}]", key, value, settings[key])
        sources[f"{table}.{key}"] = (values[key], where)
    return values


def load(path: str | None, *, queue_specs: Sequence[str] = (), threshold_specs: Sequence[str] = (),
         interval: float | None = None, read_only: bool = False, sql: bool = True) -> Config:
    return load_with_sources(path, queue_specs=queue_specs, threshold_specs=threshold_specs,
                             interval=interval, read_only=read_only, sql=sql)[0]


def load_with_sources(path: str | None, *, queue_specs: Sequence[str] = (),
                      threshold_specs: Sequence[str] = (), interval: float | None = None,
                      read_only: bool = False, sql: bool = True,
                      lock_source: str | None = None) -> tuple[Config, Sources]:
    """The config file (checked key by key) overridden by the command line, and where each
    setting came from. Every mistake is one ConfigError naming the file and the key."""
    default = os.path.join(config_dir(), "config.toml")  # the environment of now
    chosen = path or (default if os.path.exists(default) else None)
    data: dict[str, Any] = {}  # TOML: checked key by key below
    if chosen:
        if sys.version_info >= (3, 11):  # imported only when there is a file to read
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        from waltui.support.small_files import FileRefused, read_small

        try:  # non-blocking, a regular file, within a cap: a FIFO or /dev/zero is refused
            data = tomllib.loads(read_small(chosen).decode("utf-8"))
        except FileRefused as exc:
            raise ConfigError(f"cannot read config: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config {chosen}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config {chosen} is not UTF-8 text (byte {exc.start}); TOML "
                              "files are UTF-8") from None
        except RecursionError:
            raise ConfigError(f"config {chosen} nests too deeply to be a waltui config") \
                from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config {chosen} is not valid TOML: {exc}") from None
    where = chosen or "config"
    sources: Sources = {}
    values: dict[str, Any] = {}  # each checked against its Setting
    for key, value in data.items():
        if key in TOP_SETTINGS:
            values[key] = _checked(where, key, value, TOP_SETTINGS[key])
            sources[key] = (values[key], where)
        elif key not in TABLES:
            raise _unknown(where, key, [*TOP_SETTINGS, *TABLES])
        elif not isinstance(value, dict):
            raise ConfigError(f"{where}: [{key}] must be a table, got {value!r}")
    queues = data.get("queues", {})
    for name, sql_text in queues.items():
        if not isinstance(sql_text, str) or not sql_text.strip():
            raise ConfigError(f"{where}: queues.{name}: got {sql_text!r}; accepted: SQL text")
        if (reason := not_one_read(sql_text)) is not None:  # every poll would refuse it
            raise ConfigError(f"{where}: queues.{name}: {reason}")
        sources[f"queues.{name}"] = (sql_text, where)
    queries = [QueueQuery(str(k), v) for k, v in queues.items()]
    queries += [parse_queue(spec) for spec in queue_specs]
    sources.update({f"queues.{q.name}": (q.sql, "command line")
                    for q in queries[len(queues):]})
    thresholds = _read_table(where, "thresholds", data, THRESHOLD_SETTINGS, sources)
    for spec in threshold_specs:
        key, sep, text = spec.partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"--threshold wants KEY=VALUE, got {spec!r}")
        if key not in THRESHOLD_SETTINGS:
            raise _unknown("--threshold", key, list(THRESHOLD_SETTINGS))
        thresholds[key] = _checked("--threshold", key, _number_from_text(text.strip()),
                                   THRESHOLD_SETTINGS[key])
        sources[f"thresholds.{key}"] = (thresholds[key], "command line")
    checkpoint = _read_table(where, "checkpoint", data, CHECKPOINT_SETTINGS, sources)
    keys = _read_keys(where, data.get("keys", {}), sources)
    if interval is not None:
        values["interval"] = _checked("--interval", "interval", interval,
                                      TOP_SETTINGS["interval"])
        sources["interval"] = (values["interval"], "command line")
    if read_only:
        values["read_only"] = True
        sources["read_only"] = (True, "command line")
    if not sql:
        values["sql"] = False
        sources["sql"] = (False, "command line (--no-sql)")
    if lock_source is not None:
        values["lock_source"] = _checked("--lock-source", "lock_source", lock_source,
                                         TOP_SETTINGS["lock_source"])
        sources["lock_source"] = (values["lock_source"], "command line")
    config = Config(
        **values,
        queries=tuple(queries),
        checkpoint_deadline=checkpoint.get("deadline", Config.checkpoint_deadline),
        checkpoint_journal_size_limit=checkpoint.get("journal_size_limit"),
        thresholds=replace(Thresholds(), **thresholds),
        keys=keys,
        interval_chosen="interval" in values,
    )
    return config, sources


def _read_keys(where: str, table: dict[str, object],
               sources: Sources) -> tuple[tuple[str, str], ...]:
    """[keys] action = "key": checked against the registry of keys, so a typo or a key two
    actions would share is refused here, not found when the key does nothing."""
    if not table:
        return ()
    remap: dict[str, str] = {}
    for action, key in table.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"{where}: keys.{action}: got {key!r}; accepted: a key name "
                              "such as \"C\", \"ctrl+k\" or \"f5\"")
        remap[str(action)] = key.strip()
        sources[f"keys.{action}"] = (key.strip(), where)
    from waltui.keys import check_remap  # the key registry: only where [keys] is set

    problems = check_remap(remap)
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    return tuple(remap.items())


def effective_settings(config: Config, sources: Sources) -> list[tuple[str, object, str]]:
    """Every setting with its value and where it came from ("default" when not set)."""
    rows: list[tuple[str, object, str]] = []
    for key in TOP_SETTINGS:
        value = getattr(config, key)
        rows.append((key, value, sources.get(key, (value, "default"))[1]))
    for key in CHECKPOINT_SETTINGS:
        value = getattr(config, f"checkpoint_{key}")
        rows.append((f"checkpoint.{key}", value,
                     sources.get(f"checkpoint.{key}", (value, "default"))[1]))
    for key in THRESHOLD_SETTINGS:
        value = getattr(config.thresholds, key)
        rows.append((f"thresholds.{key}", value,
                     sources.get(f"thresholds.{key}", (value, "default"))[1]))
    rows += [(f"queues.{q.name}", q.sql, sources.get(f"queues.{q.name}", (q.sql, "?"))[1])
             for q in config.queries]
    rows += [(f"keys.{action}", key, sources.get(f"keys.{action}", (key, "?"))[1])
             for action, key in config.keys]
    return rows
