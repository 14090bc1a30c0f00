"""Prints the environment of one container of a rendered manifest file, as shell
assignments (`export NAME='value'`), so that the end-to-end test starts the adapter with
exactly the settings the manifest gives it. Only `value:` entries are printed (a
`valueFrom:` needs a cluster). The standard library has no YAML parser; the canonical form
dpatterns writes (block style, keys sorted, so a container's item starts with `- env:`)
is regular enough for this, and the scalars it uses are plain, 'single-quoted' or
"double-quoted".

Usage: python3 adapter_env.py MANIFEST CONTAINER
"""

import json
import shlex
import sys


def scalar(text: str) -> str:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        return json.loads(text)
    return text


def containers(lines):
    """Yields (name, env) for every container item that has an `env:`."""
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip(" ")
        if stripped != "- env:":
            i += 1
            continue
        item = len(line) - len(stripped) + 2  # indentation of the item's keys
        env, name = [], None
        i += 1
        while i < len(lines):
            inner = lines[i]
            width = len(inner) - len(inner.lstrip(" "))
            body = inner.strip()
            if width < item or (width == item - 2 and body.startswith("- ")):
                break
            if width == item and body.startswith("name: "):
                name = scalar(body[len("name: "):])
            elif body.startswith("- name: ") and width == item:
                key = scalar(body[len("- name: "):])
                following = lines[i + 1].strip() if i + 1 < len(lines) else ""
                if following.startswith("value: "):
                    env.append((key, scalar(following[len("value: "):])))
            i += 1
        yield name, env


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().splitlines()
    for name, env in containers(lines):
        if name == sys.argv[2]:
            for key, value in env:
                print(f"export {key}={shlex.quote(value)}")
            return
    raise SystemExit(f"no container `{sys.argv[2]}` with an env in {sys.argv[1]}")


if __name__ == "__main__":
    main()
