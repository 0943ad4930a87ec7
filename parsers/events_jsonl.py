"""Product analytics events, one JSON object per line.

    {"ts": "2026-11-27T10:00:00Z", "user": "u-17", "event": "login", "duration_ms": 120,
     "props": {"page": "/home"}}

Yields chunks of rows as they are read, so a multi-gigabyte export streams. Nested `props` are
flattened to the fields the contract keeps; a line that is not a JSON object is flagged with
`_cf_row_error`. Values are passed on as they are: the contract decides what is valid.
"""

import json

name = "events_jsonl"
version = "1.0.0"
topics = ["events"]
outputs = {
    "events": {
        "ts": {"type": "timestamp[ms, UTC]", "nullable": False},
        "user": {"type": "string", "nullable": False, "pattern": "^u-[0-9]+$"},
        "event": {
            "type": "string",
            "nullable": False,
            "allowed": ["login", "logout", "view", "purchase"],
        },
        "duration_ms": {"type": "int64", "min": 0},
        "page": "string",
        "amount": {"type": "float64", "min": 0},
    }
}

CHUNK_ROWS = 10_000
FIELDS = ("ts", "user", "event", "duration_ms")


def parse(path):
    rows = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                rows.append(_row(line, number))
            if len(rows) == CHUNK_ROWS:
                yield rows
                rows = []
    if rows:
        yield rows


def _row(line, number):
    row = dict.fromkeys((*FIELDS, "page", "amount", "_cf_row_error"))
    row["_cf_source_row"] = number
    try:
        event = json.loads(line)
    except json.JSONDecodeError as error:
        row["_cf_row_error"] = f"not JSON: {error.msg}"
        return row
    if not isinstance(event, dict):
        row["_cf_row_error"] = f"not a JSON object but {type(event).__name__}"
        return row
    for field in FIELDS:
        row[field] = event.get(field)
    props = event.get("props") or {}
    row["page"] = props.get("page")
    row["amount"] = props.get("amount")
    return row
