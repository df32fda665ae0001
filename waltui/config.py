"""Settings from a TOML file, overridden by the command line; one frozen Config for all layers."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields, replace

from waltui.probes.reading import ObserveOptions
from waltui.probes.sqlite import QueueQuery

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MiB = 1024 * 1024
DEFAULT_CONFIG = os.path.join(
    os.environ.get("XDG_CONFIG_HOME", os.path.expanduser("~/.config")), "waltui", "config.toml")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Thresholds:
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
    interval: float = 1.0
    read_only: bool = False
    queries: tuple[QueueQuery, ...] = ()
    presets: bool = True
    sql: bool = True  # False: files, locks and pins only; never opens the database
    query_limit_ms: float = 100.0
    sql_max_age: float = 10.0  # SQL values of an unchanged database are reused this long
    sql_min_age: float = 1.0  # queue queries run at most this often, changed or not
    checkpoint_deadline: float = 10.0
    checkpoint_journal_size_limit: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    def observe_options(self) -> ObserveOptions:
        return ObserveOptions(queries=self.queries, sql=self.sql, presets=self.presets,
                              query_limit_ms=self.query_limit_ms,
                              sql_max_age=self.sql_max_age, sql_min_age=self.sql_min_age)


def parse_queue(spec: str) -> QueueQuery:
    name, sep, sql = spec.partition("=")
    if not sep or not name.strip() or not sql.strip():
        raise ConfigError(f"--queue wants NAME=SQL, got {spec!r}")
    return QueueQuery(name.strip(), sql.strip())


def _coerce_thresholds(base: Thresholds, values: dict[str, object]) -> Thresholds:
    known = {f.name: f for f in fields(Thresholds)}
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown threshold {key!r}; known: {', '.join(sorted(known))}")
        kind = type(getattr(base, key))
        try:
            changes[key] = kind(float(value)) if kind is int else kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"threshold {key} wants a number, got {value!r}") from None
    return replace(base, **changes)


def load(path: str | None, *, queue_specs: list[str] = (), threshold_specs: list[str] = (),
         interval: float | None = None, read_only: bool = False, sql: bool = True) -> Config:
    data: dict[str, object] = {}
    chosen = path or (DEFAULT_CONFIG if os.path.exists(DEFAULT_CONFIG) else None)
    if chosen:
        try:
            with open(chosen, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"cannot read config {chosen}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config {chosen} is not valid TOML: {exc}") from None
    queues = data.get("queues", {})
    if not isinstance(queues, dict):
        raise ConfigError("[queues] must be a table of NAME = \"SQL\"")
    queries = [QueueQuery(str(k), str(v)) for k, v in queues.items()]
    queries += [parse_queue(spec) for spec in queue_specs]
    thresholds = _coerce_thresholds(Thresholds(), dict(data.get("thresholds", {})))
    overrides = {}
    for spec in threshold_specs:
        key, sep, value = spec.partition("=")
        if not sep:
            raise ConfigError(f"--threshold wants KEY=VALUE, got {spec!r}")
        overrides[key.strip()] = value.strip()
    thresholds = _coerce_thresholds(thresholds, overrides)
    checkpoint = data.get("checkpoint", {})
    config = Config(
        interval=float(interval if interval is not None else data.get("interval", 1.0)),
        read_only=read_only or bool(data.get("read_only", False)),
        queries=tuple(queries),
        presets=bool(data.get("presets", True)),
        sql=sql and bool(data.get("sql", True)),
        query_limit_ms=float(data.get("query_limit_ms", 100.0)),
        sql_max_age=float(data.get("sql_max_age", 10.0)),
        sql_min_age=float(data.get("sql_min_age", 1.0)),
        checkpoint_deadline=float(checkpoint.get("deadline", 10.0)),
        checkpoint_journal_size_limit=checkpoint.get("journal_size_limit"),
        thresholds=thresholds,
    )
    if config.interval <= 0:
        raise ConfigError("interval must be above 0 seconds")
    return config
