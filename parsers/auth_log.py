"""Linux auth logs (/var/log/auth.log, syslog format).

    Nov 27 10:01:02 web-01 sshd[4242]: Accepted publickey for deploy from 10.0.0.5 port 50122

Syslog lines carry no year: the year of the file's modification time is used, as log shippers
do. A line that is not a syslog line is kept and flagged with `_cf_row_error` (so it shows up in
quarantine with its line number in `_cf_source_row`) instead of being dropped silently.
"""

import datetime
import os
import re

import pyarrow as pa

name = "auth_log"
version = "1.0.0"
topics = ["linux_auth"]
outputs = {
    "auth_events": {
        "ts": {"type": "timestamp[us]", "nullable": False, "format": "%Y %b %d %H:%M:%S"},
        "host": {"type": "string", "nullable": False},
        "program": {"type": "string", "nullable": False},
        "pid": {"type": "int64", "nullable": True, "min": 0},
        "msg": {"type": "string", "nullable": False, "max_length": 4096},
    }
}

SYSLOG_LINE = re.compile(
    r"^(?P<ts>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}) (?P<host>\S+) "
    r"(?P<program>[^\s\[:]+)(?:\[(?P<pid>[0-9]+)\])?: (?P<msg>.*)$"
)
CHUNK_LINES = 50_000
FIELDS = ["ts", "host", "program", "pid", "msg", "_cf_row_error", "_cf_source_row"]


def parse(path):
    year = datetime.date.fromtimestamp(os.path.getmtime(path)).year
    chunk = {field: [] for field in FIELDS}
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            _add_line(chunk, line.rstrip("\n"), number, year)
            if len(chunk["ts"]) == CHUNK_LINES:
                yield _table(chunk)
                chunk = {field: [] for field in FIELDS}
    if chunk["ts"]:
        yield _table(chunk)


def _add_line(chunk, line, number, year):
    match = SYSLOG_LINE.match(line)
    fields = match.groupdict() if match else dict.fromkeys(("ts", "host", "program", "pid"))
    chunk["ts"].append(f"{year} {fields['ts']}" if match else None)
    for field in ("host", "program", "pid"):
        chunk[field].append(fields[field])
    chunk["msg"].append(fields["msg"] if match else line)
    chunk["_cf_row_error"].append(None if match else "not a syslog line")
    chunk["_cf_source_row"].append(number)


def _table(chunk):
    types = {field: pa.string() for field in FIELDS}
    types["_cf_source_row"] = pa.int64()
    return pa.table({field: pa.array(chunk[field], types[field]) for field in FIELDS})
