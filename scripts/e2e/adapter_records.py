"""Checks what the logging adapter wrote on stdout: the records (the JSON lines with a
`host`, as opposed to the adapter's own log lines) must be exactly the expected messages,
each once and in order, every one normalized: `timestamp`, `level`, `message`, `fields`,
`host` and nothing else, the level one of the six, the host the given one. A line of
the example's format (`<date> <time> <LEVEL> [<module>] <message>`) must have kept its
timestamp and module; any other line must be marked `unparsed`.

Usage: python3 adapter_records.py OUTPUT HOST MESSAGE...
"""

import json
import re
import sys

LEVELS = {"trace", "debug", "info", "warn", "error", "fatal"}
EXAMPLE = re.compile(r"^\[(?P<module>[^\]]+)\] ")


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    path, host, expected = sys.argv[1], sys.argv[2], sys.argv[3:]
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                raise SystemExit(f"line {number} of the output is not JSON: {line!r}")
            if "host" in value and "target" not in value:
                records.append(value)
    got = [r.get("message") for r in records]
    if got != expected:
        raise SystemExit(f"records {got} are not the expected {expected}")
    for r in records:
        if set(r) != {"timestamp", "level", "message", "fields", "host"}:
            raise SystemExit(f"record with other keys: {r}")
        if r["host"] != host or r["level"] not in LEVELS or not r["timestamp"]:
            raise SystemExit(f"record not normalized for {host}: {r}")
        if r["fields"].get("unparsed"):
            continue
        if "module" not in r["fields"] or not re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", r["timestamp"]):
            raise SystemExit(f"record lost the line's timestamp or module: {r}")
    levels = sorted({r["level"] for r in records})
    print(f"{len(records)} records, levels {', '.join(levels)}")


if __name__ == "__main__":
    main()
