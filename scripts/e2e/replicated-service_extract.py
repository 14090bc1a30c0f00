"""Prints the value of one key of a ConfigMap's `data` in a rendered manifest file, as
dpatterns writes it (a literal block scalar, `key: |`), so that the end-to-end test checks
the configuration exactly as rendered. The standard library has no YAML parser, and the
canonical form dpatterns writes is regular enough for this.

Usage: python3 replicated-service_extract.py MANIFEST KEY
"""

import sys


def extract(text: str, key: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        if stripped not in (f"{key}: |", f"{key}: |-"):
            continue
        outer = len(line) - len(stripped)
        body = []
        indent = None
        for inner in lines[i + 1 :]:
            if inner.strip() == "":
                body.append("")
                continue
            width = len(inner) - len(inner.lstrip(" "))
            if width <= outer:
                break
            if indent is None:
                indent = width
            body.append(inner[indent:])
        while body and body[-1] == "":
            body.pop()
        return "\n".join(body) + "\n"
    raise SystemExit(f"no block `{key}: |` in the manifest")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        sys.stdout.write(extract(f.read(), sys.argv[2]))
