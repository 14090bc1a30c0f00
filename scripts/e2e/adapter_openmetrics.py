"""Reads an OpenMetrics text exposition on stdin, checks its structure, and writes the
same metrics in the classic Prometheus text format (0.0.4) on stdout, for `promtool check
metrics`, which in Debian 12's Prometheus 2.42 reads only the classic format.

The conversion is the mechanical one and changes no name or value of a sample: in
OpenMetrics a counter family `x` has samples `x_total` and an info family `x` samples
`x_info`, while the classic format names the family after its samples, so the HELP and
TYPE lines take the sample's name (an info becomes a gauge); `unknown` is `untyped`;
`# UNIT` and the final `# EOF` have no classic form and are dropped. Checked on the way:
`# EOF` ends the text exactly once, every family is declared once with HELP before TYPE,
and every sample belongs to the family declared last, with a suffix its type allows.

Usage: python3 adapter_openmetrics.py < metrics.txt > classic.txt
"""

import re
import sys

SUFFIXES = {
    "counter": ["_total", "_created"],
    "gauge": [""],
    "info": ["_info"],
    "unknown": [""],
    "histogram": ["_bucket", "_sum", "_count", "_created"],
    "summary": ["", "_sum", "_count", "_created"],
}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( \S+)?$")


def fail(message: str) -> None:
    raise SystemExit(f"not valid OpenMetrics: {message}")


def convert(text: str) -> str:
    lines = text.split("\n")
    if lines[-1] != "":
        fail("the text does not end with a line feed")
    lines = lines[:-1]
    if not lines or lines[-1] != "# EOF":
        fail("the last line is not `# EOF`")
    if lines.count("# EOF") != 1:
        fail("`# EOF` appears more than once")
    out, seen, family, kind, help_text = [], set(), None, None, None
    for number, line in enumerate(lines[:-1], start=1):
        if line.startswith("# HELP "):
            family, _, help_text = line[len("# HELP "):].partition(" ")
            if family in seen:
                fail(f"line {number}: family `{family}` declared twice")
            seen.add(family)
            kind = None
        elif line.startswith("# TYPE "):
            name, _, kind = line[len("# TYPE "):].partition(" ")
            if name != family:
                fail(f"line {number}: TYPE of `{name}` without its HELP first")
            if kind not in SUFFIXES:
                fail(f"line {number}: unknown type `{kind}`")
            classic = {"counter": family + "_total", "info": family + "_info"}.get(kind, family)
            classic_kind = {"info": "gauge", "unknown": "untyped"}.get(kind, kind)
            out.append(f"# HELP {classic} {help_text}")
            out.append(f"# TYPE {classic} {classic_kind}")
        elif line.startswith("# UNIT "):
            continue
        elif line.startswith("#"):
            fail(f"line {number}: unexpected comment `{line}`")
        else:
            match = SAMPLE.match(line)
            if not match:
                fail(f"line {number}: not a sample: `{line}`")
            if kind is None:
                fail(f"line {number}: a sample before any TYPE")
            name = match.group(1)
            if not any(name == family + suffix for suffix in SUFFIXES[kind]):
                fail(f"line {number}: sample `{name}` outside its family `{family}` ({kind})")
            if name.endswith("_created"):
                continue
            float(match.group(3))
            out.append(line)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(convert(sys.stdin.read()))
