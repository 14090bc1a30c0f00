"""Checks `dpatterns schema` with an outside JSON Schema validator (python-jsonschema,
draft 2020-12): every good fixture spec must pass, every spec in tests/cmd that is wrong in
a way a schema can express must fail. Usage: check-spec-schema.py SCHEMA.json"""

import json
import pathlib
import sys

import yaml
from jsonschema import Draft202012Validator

repo = pathlib.Path(__file__).resolve().parent.parent
schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)

good = sorted(repo.glob("templates/*/example.yaml")) + sorted(repo.glob("tests/fixtures/specs/*.yaml"))
good += [repo / "tests/cmd/validate-ok.in/dpatterns.yaml", repo / "tests/cmd/check-reports-drift.in/dpatterns.yaml"]
# Wrong in ways the schema describes (the rest needs the whole spec: references, ranges
# between parameters, duplicates).
bad = [
    "unknown-key", "wrong-type", "unknown-pattern", "invalid-name", "param-out-of-range",
    "param-not-allowed", "param-unknown", "unpinned-image", "several-errors",
]

# The agreement corpus (tests/schema_agreement.rs runs it through the binary too).
corpus = repo / "tests/fixtures/schema-corpus"
good += sorted(corpus.glob("good-*.yaml"))
failures = 0
for path in good:
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    status = "ok" if not errors else "FAIL"
    failures += bool(errors)
    print(f"{status:4} accepts {path.relative_to(repo)}" + (f": {errors[0].message}" if errors else ""))
for name in bad:
    path = repo / "tests/cmd" / f"{name}.in" / "dpatterns.yaml"
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    status = "ok" if errors else "FAIL"
    failures += not errors
    print(f"{status:4} rejects {path.relative_to(repo)}" + (f": {errors[0].message[:90]}" if errors else ""))
bad_corpus = sorted(corpus.glob("bad-*.yaml"))
for path in bad_corpus:
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    status = "ok" if errors else "FAIL"
    failures += not errors
    print(f"{status:4} rejects {path.relative_to(repo)}" + (f": {errors[0].message[:90]}" if errors else ""))
print(f"spec schema: {len(good) + len(bad) + len(bad_corpus) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
