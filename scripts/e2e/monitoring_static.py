"""Writes a copy of the rendered prometheus.yml that runs without a Kubernetes API: the
`kubernetes_sd_configs` block of the pod job becomes a `static_configs` block whose
targets carry the `__meta_kubernetes_*` labels Kubernetes discovery would give them, so
the rendered relabelling (keep the system's pods and the ports named `metrics`, set
`component`, `pod`, `namespace`) runs unchanged on them. Debian's Prometheus and promtool
are built without Kubernetes discovery, and a test has no API server. Also rewritten,
because they must be: the rule file's path (the pod's mount) and, with --interval, the
scrape and evaluation intervals (a test cannot wait 30 seconds per scrape), and with
--pushgateway the Pushgateway's target (its Service's name) becomes the test's address.
Nothing else is touched: the rest of the text is the rendered one, byte for byte.

Usage: python3 monitoring_static.py RENDERED OUT RULES TARGETS_JSON [--interval 1s]
         [--pushgateway HOST:PORT]
TARGETS_JSON: [{"target": "127.0.0.1:9090", "labels": {"__meta_...": "..."}}, ...]
"""

import json
import sys


def static_block(indent: int, targets: list) -> list:
    pad = " " * indent
    lines = [f"{pad}static_configs:"]
    for t in targets:
        lines.append(f"{pad}  - targets: [{json.dumps(t['target'])}]")
        labels = ", ".join(f"{k}: {json.dumps(v)}" for k, v in sorted(t["labels"].items()))
        lines.append(f"{pad}    labels: {{{labels}}}")
    return lines


def rewrite(
    text: str, rules: str, targets: list, interval: str | None, pushgateway: str | None
) -> str:
    lines = text.splitlines()
    out = []
    i = 0
    replaced_sd = replaced_rules = False
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if stripped == "kubernetes_sd_configs:":
            out.extend(static_block(indent, targets))
            i += 1
            while i < len(lines) and (
                lines[i].strip() == "" or len(lines[i]) - len(lines[i].lstrip(" ")) > indent
            ):
                i += 1
            replaced_sd = True
            continue
        if stripped == "- /etc/prometheus/rules/alerts.yml":
            out.append(" " * indent + "- " + json.dumps(rules))
            replaced_rules = True
        elif interval and stripped.startswith(("scrape_interval:", "evaluation_interval:")):
            out.append(" " * indent + stripped.split(":")[0] + ": " + interval)
        elif pushgateway and stripped.startswith("- targets: [") and "-pushgateway:9091" in stripped:
            out.append(" " * indent + "- targets: [" + json.dumps(pushgateway) + "]")
        else:
            out.append(line)
        i += 1
    if not (replaced_sd and replaced_rules):
        raise SystemExit("the rendered prometheus.yml has no kubernetes_sd_configs or rule file")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    args = sys.argv[1:]
    options = {"--interval": None, "--pushgateway": None}
    for name in options:
        if name in args:
            at = args.index(name)
            options[name] = args[at + 1]
            del args[at : at + 2]
    if len(args) != 4:
        raise SystemExit(__doc__)
    rendered, out, rules, targets = args
    with open(rendered, encoding="utf-8") as f:
        text = f.read()
    with open(targets, encoding="utf-8") as f:
        target_list = json.load(f)
    with open(out, "w", encoding="utf-8") as f:
        f.write(
            rewrite(text, rules, target_list, options["--interval"], options["--pushgateway"])
        )
