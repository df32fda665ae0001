"""`check --format nagios` against the monitoring-plugins guidelines, with nagiosplugin (a
separate implementation of them) as the oracle for ranges and perfdata."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nagiosplugin
import pytest

from waltui.outputs.nagios import parse_range, perf

SPECS = ["10", "10:", "~:10", "10:20", "@10:20", "0", "@0", "5.5:7.25", "-5:5", "~:-1"]
VALUES = [-100, -5, -1, 0, 0.5, 5, 5.5, 7.25, 9.99, 10, 10.01, 15, 20, 20.5, 1e9]
# 'label'=value[UOM];[warn];[crit];[min];[max], as the guidelines define an item
PERFDATA = re.compile(r"^(?:'[^']+(?:''[^']*)*'|[^'=\s]+)=-?\d+(?:\.\d+)?"
                      r"(?:[a-zA-Z%]+)?(?:;[@~:\d.-]*){0,4}$")


@pytest.mark.parametrize("spec", SPECS)
def test_ranges_alert_exactly_where_the_guidelines_say(spec):
    ours, theirs = parse_range(spec), nagiosplugin.Range(spec)
    assert [ours.alerts(v) for v in VALUES] == [not theirs.match(v) for v in VALUES]
    assert nagiosplugin.Range(ours.text) == theirs  # and it writes them back the same


def test_ranges_take_byte_units_and_refuse_nonsense():
    assert parse_range("64M").end == 64 << 20 and parse_range("1G:").start == 1 << 30
    assert parse_range("512KiB").end == 512 << 10
    for bad in ("", "@", "5:1", "ten", "1:2:3", "10X"):
        with pytest.raises(ValueError):
            parse_range(bad)


@pytest.mark.parametrize("args", [
    ("databases", 3, "", "", "", "0", ""),
    ("wal_bytes_max", 123456, "B", "67108864", "1073741824", "0", ""),
    ("oldest_pin_seconds", 12.5, "s", "", "30", "0", ""),
    ("a label with spaces", 1, "", "@0:5", "", "0", ""),
])
def test_perfdata_items_are_written_as_the_oracle_writes_them(args):
    label, value, uom, warn, crit, low, high = args
    expected = str(nagiosplugin.Performance(label, value, uom, warn or None, crit or None,
                                            low or None, high or None))
    assert perf(label, value, uom, warn, crit, low, high) == expected
    assert PERFDATA.match(expected), expected


WALTUI = [sys.executable, "-m", "waltui"]


def plugin(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WALTUI, "check", "--format", "nagios", *args],
                          capture_output=True, text=True, timeout=timeout)


def one_line(out: subprocess.CompletedProcess[str]) -> tuple[str, str, list[str]]:
    """(status, text, perfdata items) of a plugin's output, which must be one line."""
    lines = out.stdout.splitlines()
    assert len(lines) == 1, out.stdout + out.stderr
    match = re.fullmatch(r"WALTUI (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]*)(?: \| (.*))?",
                         lines[0])
    assert match is not None, lines[0]
    return match[1], match[2], (match[3] or "").split()


@pytest.mark.system
def test_the_plugin_line_and_exit_code_follow_the_guidelines(live_db):
    db, _app = live_db
    out = plugin(str(db))
    status, _text, items = one_line(out)
    assert (status, out.returncode) == ("OK", 0)
    assert all(PERFDATA.match(item) for item in items), items
    wal = next(i for i in items if i.startswith("wal_bytes_max="))
    assert wal.split(";")[1:3] == ["67108864", "1073741824"]  # the config's thresholds
    size = Path(f"{db}-wal").stat().st_size
    warned = plugin("-w", str(size - 1), str(db))  # the largest -wal is past the range
    status, text, items = one_line(warned)
    assert (status, warned.returncode) == ("WARNING", 1) and "outside the warning range" in text
    critical = plugin("-w", str(size - 1), "-c", f"~:{size // 2}", str(db))
    assert one_line(critical)[0] == "CRITICAL" and critical.returncode == 2


@pytest.mark.system
@pytest.mark.parametrize("args, says", [
    (("--no-such-option",), "unrecognized arguments: --no-such-option"),
    (("-w", "5:1"), "a range whose start is above its end"),
    (("--config", "/nonexistent/waltui.toml"), "configuration: cannot read config"),
    (("--threshold", "wal_bytes=-1"), "configuration:"),
])
def test_a_usage_or_config_error_is_unknown_on_stdout(live_db, args, says):
    """A plugin's stderr reaches nobody: the reason is the UNKNOWN line, exit 3."""
    db, _app = live_db
    out = plugin(*args, str(db))
    status, text, _ = one_line(out)
    assert (status, out.returncode) == ("UNKNOWN", 3) and says in text, out.stdout


@pytest.mark.system
def test_a_check_past_its_timeout_is_unknown(live_db):
    db, _app = live_db
    out = plugin("-t", "0.5", "--for", "30", str(db))
    status, text, _ = one_line(out)
    assert (status, out.returncode) == ("UNKNOWN", 3) and "-t 0.5 s" in text


@pytest.mark.system
def test_version_is_dash_capital_v():
    out = subprocess.run([*WALTUI, "check", "-V"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and re.fullmatch(r"waltui \d+\.\d+\.\d+\S*\n", out.stdout)
