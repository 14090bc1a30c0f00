#!/usr/bin/env bash
# validate-manifests.sh — run the outside oracles over rendered dpatterns projects.
#
# Usage: scripts/validate-manifests.sh [-v] PROJECT_DIR [PROJECT_DIR...]
#
# Each PROJECT_DIR is a rendered project: its base k8s/base/ (kustomization.yaml plus one
# file per component) and one overlay per environment, k8s/overlays/<env>/. For every
# directory this runs, offline:
#   1. yamllint (relaxed, kubectl-style config, warnings are failures) on every file under
#      k8s/ (base, overlays, their patches)
# and over the base's manifests, then over the output `kubectl kustomize` builds for each
# overlay:
#   2. kubernetes-validate --strict for each Kubernetes version in K8S_VERSIONS (default:
#      1.29 and the newest the pinned kubernetes-validate ships; plus spec.kubernetes.version
#      from PROJECT_DIR/dpatterns.yaml when present) on every manifest except the
#      kustomization, custom resources left out; any line that is not a pass ("Couldn't
#      find schema" exits 0!) fails
#   3. custom resources (Prometheus Operator, Gateway API), when there are any: each is
#      validated by the validator the @kubernetes-models npm package of its API group ships,
#      compiled from the upstream API types (types, required fields, enums, patterns); an
#      apiVersion/kind with no validator fails. These do not reject unknown fields: the
#      in-process typed check does. Needs node; the packages are installed with npm.
#   4. checkov --framework kubernetes with zero failed checks, run once at the end over
#      every set of manifests of every directory (its start-up is most of its time) and
#      judged per set (skips: CHECKOV_SKIP_CHECKS,
#      and CHECKOV_SKIP_LOCAL_ENVIRONMENT in an environment that asks for IfNotPresent)
#   5. kubectl kustomize of the base and of each overlay (an overlay that does not build
#      fails, and is not checked further)
# and prints a summary table. Exit status: 0 all passed, 1 any check failed, 2 usage or
# environment error (no kubectl, venv install failed).
#
# The tools live in a venv: $DPATTERNS_VENV, default <repo>/target/validate-venv. It is
# created on first use and reused; a stamp file records the pinned versions, so a second
# run installs nothing. Python interpreter: $DPATTERNS_PYTHON (default python3).
# The npm packages live in $DPATTERNS_NODE_MODELS, default <repo>/target/validate-node,
# installed the same way on the first render holding a custom resource.
# Other knobs: $DPATTERNS_K8S_VERSIONS (space-separated, "newest" allowed), $KUBECTL.
# -v prints every tool's output, not only that of failing steps.

set -euo pipefail

# ---- pinned tool versions (bump together; the stamp file makes the venv reinstall) ----
readonly KUBERNETES_VALIDATE_VERSION=1.37.0
readonly CHECKOV_VERSION=3.3.30
readonly YAMLLINT_VERSION=1.38.0
readonly NODE_MODELS=(
  @kubernetes-models/prometheus-operator@6.0.0
  @kubernetes-models/gateway-api@2.0.0
)
# API groups of custom resources: kubernetes-validate has no schema for them, the models
# above do.
readonly CUSTOM_RESOURCE_GROUPS="monitoring.coreos.com gateway.networking.k8s.io"

# ---- checkov checks skipped on purpose; each needs a reason ----
readonly CHECKOV_SKIP_CHECKS=(
  # CKV_K8S_43 "Image should use digest": dpatterns renders images of services it generates
  # itself (built after rendering, by the project's CI), so their digest cannot be known at
  # render time. Users pin digests through spec `patches` or kustomize `images:`.
  CKV_K8S_43
)
# Skipped only in the overlay of an environment whose spec sets
# `defaults: {imagePullPolicy: IfNotPresent}` (dev, as `dpatterns new` writes it):
# CKV_K8S_15 "Image Pull Policy should be Always". Such an environment runs images loaded
# into a local cluster's nodes (kind load, minikube image load), which `Always` would try
# to pull from a registry and fail. The base and every other environment keep the check.
readonly CHECKOV_SKIP_LOCAL_ENVIRONMENT=CKV_K8S_15

# yamllint: the default rules, minus three that fight serializer/kubectl-style output:
# no leading `---` on the first document, sequences not indented under their key, and
# long lines (image references with digests, annotations) that YAML can't fold safely.
readonly YAMLLINT_CONFIG='{extends: default, rules: {document-start: disable, line-length: disable, indentation: {indent-sequences: whatever}}}'

# checkov must stay offline and must not hang on network look-ups: --skip-download skips
# the platform/guideline download, BC_SKIP_MAPPING skips the guideline mapping fetch, the
# update check against PyPI is off, and any request that still happens is tried once.
export BC_SKIP_MAPPING=TRUE
export CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE
export REQUEST_MAX_TRIES=1
export SLEEP_BETWEEN_REQUEST_TRIES=0
export CKV_PARSE_ERROR_FAIL=true
export PIP_DISABLE_PIP_VERSION_CHECK=1

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$script_dir/.." && pwd)"
venv="${DPATTERNS_VENV:-$repo_dir/target/validate-venv}"
node_models="${DPATTERNS_NODE_MODELS:-$repo_dir/target/validate-node}"
python="${DPATTERNS_PYTHON:-python3}"
kubectl="${KUBECTL:-kubectl}"
verbose=0

usage() {
  sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() { # exit status, message
  local rc=$1
  shift
  printf 'validate-manifests: error: %s\n' "$*" >&2
  exit "$rc"
}

now_ms() { # milliseconds since the epoch, from bash's own clock
  local t=${EPOCHREALTIME/./}
  echo $((t / 1000))
}

fmt_ms() { # 1234 -> 1.23s
  printf '%d.%02ds' $(($1 / 1000)) $((($1 % 1000) / 10))
}

# ---------------------------------------------------------------- arguments
dirs=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -v | --verbose) verbose=1 ;;
    --) shift; dirs+=("$@"); break ;;
    -*) die 2 "unknown option '$1' (see --help)" ;;
    *) dirs+=("$1") ;;
  esac
  shift
done
((${#dirs[@]})) || { usage >&2; die 2 "give at least one rendered project directory"; }

for d in "${dirs[@]}"; do
  [[ -d "$d/k8s" ]] || die 2 "'$d' has no k8s/ folder (expected a rendered dpatterns project)"
done

command -v "$kubectl" >/dev/null 2>&1 ||
  die 2 "kubectl not found (looked for '$kubectl' on PATH; set \$KUBECTL to override). It is needed for 'kubectl kustomize'."

# ---------------------------------------------------------------- results table
rows=()    # "dir<TAB>check<TAB>PASS|FAIL<TAB>time<TAB>note"
failed=0
record() { # dir check status ms note
  rows+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$(fmt_ms "$4")"$'\t'"${5:-}")
  [[ "$3" == PASS ]] || failed=1
}

show_output() { # status text: print tool output when failing or verbose
  if [[ "$1" != PASS || $verbose == 1 ]] && [[ -n "$2" ]]; then
    printf '%s\n' "$2" | sed 's/^/    /'
  fi
}

# ---------------------------------------------------------------- venv
setup_venv() {
  local stamp="$venv/.dpatterns-validate-stamp"
  local want
  want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION checkov==$CHECKOV_VERSION yamllint==$YAMLLINT_VERSION"
  # fast path: no lock, no python start-up
  if [[ -f "$stamp" && "$(<"$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$venv")"
  # serialize concurrent first runs (e.g. parallel test threads) on the same venv
  exec 9>"$venv.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if [[ -f "$stamp" && "$(<"$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    exec 9>&-
    return 0
  fi
  echo "validate-manifests: installing $want into $venv (first run; later runs reuse it)" >&2
  command -v "$python" >/dev/null 2>&1 || die 2 "python interpreter '$python' not found (set \$DPATTERNS_PYTHON)"
  rm -f "$stamp"
  if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv" >&2 || die 2 "could not create venv at $venv with $python"
  fi
  # shellcheck disable=SC2086 # $want is a list of requirement specifiers
  "$venv/bin/python" -m pip install --no-input --quiet $want >&2 ||
    die 2 "pip install of $want into $venv failed"
  printf '%s' "$want" >"$stamp"
  exec 9>&-
}

# The npm packages for custom resources, installed on first need, like the venv.
setup_node_models() {
  local stamp="$node_models/.dpatterns-validate-stamp"
  local want="${NODE_MODELS[*]}"
  if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
    return 0
  fi
  command -v node >/dev/null 2>&1 || die 2 "node not found: it validates custom resources"
  command -v npm >/dev/null 2>&1 || die 2 "npm not found: it installs the custom resource models"
  mkdir -p "$node_models"
  exec 8>"$node_models.lock"
  if command -v flock >/dev/null 2>&1; then flock 8; fi
  if [[ -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
    exec 8>&-
    return 0
  fi
  echo "validate-manifests: installing $want into $node_models (first run; later runs reuse it)" >&2
  rm -f "$stamp"
  [[ -f "$node_models/package.json" ]] || printf '{"private": true}\n' >"$node_models/package.json"
  # shellcheck disable=SC2086 # $want is a list of package specifiers
  (cd "$node_models" && npm install --no-audit --no-fund --loglevel=error --save-exact $want) >&2 ||
    die 2 "npm install of $want into $node_models failed"
  printf '%s' "$want" >"$stamp"
  exec 8>&-
}

t0=$(now_ms)
setup_venv
t_setup=$(($(now_ms) - t0))
record "-" "venv ($venv)" PASS "$t_setup"
bin="$venv/bin"

newest="$("$bin/python" -c 'from kubernetes_validate.utils import latest_version, major_minor; print(major_minor(latest_version()))')"

# Kubernetes versions for one project dir: the defaults plus the spec's target version.
k8s_versions_for() {
  local dir=$1 v spec_v
  local -a vers=()
  for v in ${DPATTERNS_K8S_VERSIONS:-1.29 newest}; do
    [[ "$v" == newest ]] && v=$newest
    vers+=("$v")
  done
  if [[ -f "$dir/dpatterns.yaml" ]]; then
    spec_v="$("$bin/python" - "$dir/dpatterns.yaml" <<'PY' 2>/dev/null || true
import sys, yaml
with open(sys.argv[1]) as f:
    doc = yaml.safe_load(f) or {}
v = ((doc.get("spec") or {}).get("kubernetes") or {}).get("version")
if v:
    print(".".join(str(v).lstrip("v").split(".")[:2]))
PY
)"
    [[ -n "$spec_v" ]] && vers+=("$spec_v")
  fi
  printf '%s\n' "${vers[@]}" | sort -u -t. -k1,1n -k2,2n
}

# ---------------------------------------------------------------- per set of manifests
# validate_manifests LABEL DIR PROJECT: kubernetes-validate, the custom resources' validator
# and checkov over the *.yaml files of DIR (the base, or the built output of an overlay),
# with results recorded under LABEL; PROJECT holds the spec naming the Kubernetes version.
validate_manifests() {
  local label=$1 k8s=$2 project=$3 extra_skip=${4:-}
  local f v t ms st out bad npass note split
  local -a manifests=() builtin=() versions=()
  for f in "$k8s"/*.yaml "$k8s"/*.yml; do
    case "$(basename "$f")" in
      kustomization.yaml | kustomization.yml) ;;
      *) manifests+=("$f") ;;
    esac
  done
  if ((${#manifests[@]} == 0)); then
    record "$label" "layout" FAIL 0 "no manifest in $k8s"
    echo "  layout: FAIL (no manifest in $k8s)"
    return
  fi

  # -- custom resources go to their own validator; the rest to kubernetes-validate, from a
  # copy of each manifest without them (a manifest of custom resources only is left out).
  split="$(mktemp -d)"
  "$bin/python" - "$split" "$CUSTOM_RESOURCE_GROUPS" "${manifests[@]}" <<'PY' ||
import json, os, re, sys, yaml
out, groups, files = sys.argv[1], set(sys.argv[2].split()), sys.argv[3:]
os.makedirs(os.path.join(out, "builtin"))
custom = []
for f in files:
    with open(f) as fh:
        text = fh.read()
    kept = []
    for chunk in re.split(r"^---[ \t]*$\n?", text, flags=re.M):
        doc = yaml.safe_load(chunk)
        group = str((doc or {}).get("apiVersion", "")).rpartition("/")[0] if isinstance(doc, dict) else ""
        if group in groups:
            custom.append({"file": f, "object": doc})
        else:
            kept.append(chunk)
    if any(yaml.safe_load(c) is not None for c in kept):
        with open(os.path.join(out, "builtin", os.path.basename(f)), "w") as fh:
            fh.write("---\n".join(kept))
with open(os.path.join(out, "custom.json"), "w") as fh:
    json.dump(custom, fh)
PY
    die 2 "could not split the manifests of $k8s into built-in objects and custom resources"
  builtin=("$split"/builtin/*.yaml)

  # -- kubernetes-validate --strict, per version
  mapfile -t versions < <(k8s_versions_for "$project")
  for v in "${versions[@]}"; do
    t=$(now_ms)
    st=PASS
    if ((${#builtin[@]})); then
      if out="$("$bin/kubernetes-validate" --strict -k "$v" "${builtin[@]}" 2>&1)"; then :; else st=FAIL; fi
      out="${out//"$split/builtin/"/"$k8s/"}"
    else
      out="" # custom resources only: nothing for kubernetes-validate
    fi
    # Only pass lines are acceptable. WARN (e.g. "Couldn't find schema" for a CRD or a
    # removed apiVersion) exits 0 but means the object was never validated.
    bad="$(grep -v -E "^INFO .* passed for resource .* against version ${v//./\\.}\$" <<<"$out" | grep -v '^$' || true)"
    [[ -n "$bad" ]] && st=FAIL
    npass="$(grep -c -E '^INFO .* passed for resource ' <<<"$out" || true)"
    # every manifest file must have yielded at least one validated object
    for f in "${builtin[@]}"; do
      f="$k8s/${f##*/}"
      grep -qF "INFO $f passed for resource " <<<"$out" || { st=FAIL; bad+=$'\n'"$f: no object validated"; }
    done
    ms=$(($(now_ms) - t))
    note="$npass objects"
    [[ $st == FAIL ]] && note="$(grep -c . <<<"$bad" || true) problems"
    record "$label" "kubernetes-validate --strict -k $v" "$st" "$ms" "$note"
    echo "  kubernetes-validate --strict -k $v: $st ($(fmt_ms "$ms"))"
    if [[ $st == FAIL ]]; then show_output FAIL "${bad#$'\n'}"; else show_output PASS "$out"; fi
  done

  # -- custom resources
  if [[ "$(<"$split/custom.json")" != "[]" ]]; then
    setup_node_models
    t=$(now_ms)
    if out="$(node "$script_dir/validate-custom-resources.mjs" "$node_models" "$split/custom.json" 2>&1)"; then st=PASS; else st=FAIL; fi
    ms=$(($(now_ms) - t))
    note="$(grep -c '^PASS ' <<<"$out" || true) objects"
    [[ $st == FAIL ]] && note="$(grep -c '^FAIL ' <<<"$out" || true) problems"
    record "$label" "custom resources (@kubernetes-models)" "$st" "$ms" "$note"
    echo "  custom resources: $st ($(fmt_ms "$ms"))"
    show_output "$st" "$out"
  fi
  rm -rf "$split"

  # -- checkov, over the manifests only (kustomize's own files are not Kubernetes objects):
  # queued here, run once over every set at the end (checkov's start-up, not its checks,
  # is most of its time: one run over forty sets costs about what one set costs).
  ck_n=$((ck_n + 1))
  mkdir -p "$ck_all/$ck_n"
  cp "${manifests[@]}" "$ck_all/$ck_n/"
  ck_labels[$ck_n]=$label
  ck_skips[$ck_n]=$extra_skip
}

# run_checkov: checkov once over every queued set of manifests, then each set's result
# recorded under its label: its own passed and failed checks (a set's extra skip, such as
# the local environment's pull policy, drops that check's failures in that set only), its
# parsing errors, and no result at all is a failure (checkov exits 0 having parsed nothing).
run_checkov() {
  ((ck_n > 0)) || return 0
  local t ms ck_out ck_rc=0 skip_csv n st note
  t=$(now_ms)
  ck_out="$(mktemp -d)"
  skip_csv="$(IFS=,; echo "${CHECKOV_SKIP_CHECKS[*]}")"
  (cd "$ck_all" && "$bin/checkov" -d . --framework kubernetes --skip-download \
    --skip-check "$skip_csv" -o json --output-file-path "$ck_out") >"$ck_out/stdout.txt" 2>&1 || ck_rc=$?
  ms=$(($(now_ms) - t))
  local -a skips=()
  for ((n = 1; n <= ck_n; n++)); do skips+=("$n=${ck_skips[$n]}"); done
  local verdicts
  verdicts="$("$bin/python" - "$ck_out/results_json.json" "${skips[@]}" <<'PY' 2>&1 || true
import json, sys
from collections import defaultdict
skip = {}
for arg in sys.argv[2:]:
    n, _, checks = arg.partition("=")
    skip[n] = set(c for c in checks.split(",") if c)
def set_of(path):
    return path.lstrip("/").split("/", 1)[0]
try:
    with open(sys.argv[1]) as f:
        d = json.load(f)
except Exception as e:  # no report written
    for n in skip:
        print(f"{n}\tFAIL\tno checkov JSON report ({e})")
    sys.exit(0)
reports = d if isinstance(d, list) else [d]
passed, failed, resources, errors = defaultdict(int), defaultdict(list), defaultdict(set), defaultdict(list)
for r in reports:
    res = r.get("results", {})
    for c in res.get("passed_checks", []):
        n = set_of(c["file_path"]); passed[n] += 1; resources[n].add((c["file_path"], c["resource"]))
    for c in res.get("failed_checks", []):
        n = set_of(c["file_path"]); resources[n].add((c["file_path"], c["resource"]))
        if c["check_id"] in skip.get(n, ()):
            continue
        failed[n].append(f'{c["check_id"]} {c["check_name"]}: {c["resource"]} ({c["file_path"].lstrip("/").split("/", 1)[-1]})')
    for e in res.get("parsing_errors", []):
        errors[set_of(e)].append(e)
for n in sorted(skip, key=int):
    ok = not failed[n] and not errors[n] and passed[n] > 0
    note = f"passed={passed[n]} failed={len(failed[n])} parsing_errors={len(errors[n])} resources={len(resources[n])}"
    print(f"{n}\t{'PASS' if ok else 'FAIL'}\t{note}")
    for line in failed[n] + [f"parsing error: {e}" for e in errors[n]]:
        print(f"{n}\tDETAIL\t{line}")
PY
)"
  echo " -- checkov, one run over ${ck_n} sets of manifests: $(fmt_ms "$ms")"
  for ((n = 1; n <= ck_n; n++)); do
    st="$(awk -F'\t' -v n="$n" '$1 == n && $2 != "DETAIL" {print $2; exit}' <<<"$verdicts")"
    note="$(awk -F'\t' -v n="$n" '$1 == n && $2 != "DETAIL" {print $3; exit}' <<<"$verdicts")"
    [[ -n "$st" ]] || { st=FAIL; note="no verdict"; }
    [[ $ck_rc -ne 0 && $ck_rc -ne 1 ]] && { st=FAIL; note="checkov exited $ck_rc; $note"; }
    record "${ck_labels[$n]}" "checkov (skip: $skip_csv${ck_skips[$n]:+,${ck_skips[$n]}}; one run)" "$st" "$ms" "$note"
    if [[ $st == FAIL ]]; then
      echo "  ${ck_labels[$n]}: checkov FAIL $note"
      show_output FAIL "$(awk -F'\t' -v n="$n" '$1 == n && $2 == "DETAIL" {print $3}' <<<"$verdicts")"
      [[ -n "$(awk -F'\t' -v n="$n" '$1 == n && $2 == "DETAIL"' <<<"$verdicts")" ]] || show_output FAIL "$(tail -20 "$ck_out/stdout.txt")"
    fi
  done
  rm -rf "$ck_out" "$ck_all"
}

# pull_policy_of PROJECT ENV: the imagePullPolicy spec.environments.ENV.defaults sets, if any.
pull_policy_of() {
  [[ -f "$1/dpatterns.yaml" ]] || return 0
  "$bin/python" - "$1/dpatterns.yaml" "$2" <<'PY' 2>/dev/null || true
import sys, yaml
with open(sys.argv[1]) as f:
    doc = yaml.safe_load(f) or {}
env = (((doc.get("spec") or {}).get("environments") or {}).get(sys.argv[2])) or {}
print((env.get("defaults") or {}).get("imagePullPolicy") or "")
PY
}

# kustomize_build LABEL DIR OUT_FILE: kubectl kustomize DIR into OUT_FILE, recorded.
kustomize_build() {
  local label=$1 dir=$2 file=$3 t ms st out note
  t=$(now_ms)
  if out="$("$kubectl" kustomize "$dir" 2>&1)"; then
    st=PASS
    printf '%s\n' "$out" >"$file"
    note="$(grep -c '^kind: ' <<<"$out" || true) objects"
    out=""
  else
    st=FAIL
    note="kustomize error"
  fi
  ms=$(($(now_ms) - t))
  record "$label" "kubectl kustomize" "$st" "$ms" "$note"
  echo "  kubectl kustomize: $st ($(fmt_ms "$ms"))"
  show_output "$st" "$out"
  [[ $st == PASS ]]
}

# ---------------------------------------------------------------- per directory
shopt -s nullglob globstar
# The sets of manifests checkov reads in its one run: set N is $ck_all/N/.
ck_all="$(mktemp -d)"
ck_n=0
ck_labels=()
ck_skips=()
for dir in "${dirs[@]}"; do
  k8s="$dir/k8s"
  echo "== $dir"

  # -- layout: the base, and at least one environment
  overlays=("$k8s"/overlays/*/)
  if [[ ! -f "$k8s/base/kustomization.yaml" || ${#overlays[@]} -eq 0 ]]; then
    record "$dir" "layout" FAIL 0 "need k8s/base/kustomization.yaml and k8s/overlays/<env>/"
    echo "  layout: FAIL (need k8s/base/kustomization.yaml and at least one k8s/overlays/<env>/)"
  fi

  # -- yamllint (strict: warnings fail too), over every file under k8s/: the base, the
  # overlays' kustomizations, patches and added objects
  yaml_files=("$k8s"/**/*.yaml "$k8s"/**/*.yml)
  t=$(now_ms)
  if out="$("$bin/yamllint" --strict -f parsable -d "$YAMLLINT_CONFIG" "${yaml_files[@]}" 2>&1)"; then st=PASS; else st=FAIL; fi
  ms=$(($(now_ms) - t))
  note="${#yaml_files[@]} files"
  [[ $st == FAIL ]] && note="$(grep -c ':' <<<"$out" || true) findings"
  record "$dir" "yamllint" "$st" "$ms" "$note"
  echo "  yamllint: $st ($(fmt_ms "$ms"))"
  show_output "$st" "$out"

  # -- the base as written, and as kustomize builds it
  echo " -- base"
  validate_manifests "$dir base" "$k8s/base" "$dir"
  built="$(mktemp -d)"
  kustomize_build "$dir base" "$k8s/base" "$built/base.yaml" || true

  # -- every environment: built by kustomize, then every check above over its output
  for overlay in "${overlays[@]}"; do
    env="$(basename "$overlay")"
    echo " -- overlay $env"
    mkdir -p "$built/$env"
    if kustomize_build "$dir overlay $env" "$overlay" "$built/$env/$env.yaml"; then
      skip=""
      [[ "$(pull_policy_of "$dir" "$env")" == IfNotPresent ]] && skip=$CHECKOV_SKIP_LOCAL_ENVIRONMENT
      validate_manifests "$dir overlay $env" "$built/$env" "$dir" "$skip"
    fi
  done
  rm -rf "$built"
done

run_checkov

# ---------------------------------------------------------------- summary
total=$(($(now_ms) - t0))
echo
echo "Summary (kubernetes-validate $KUBERNETES_VALIDATE_VERSION, checkov $CHECKOV_VERSION, yamllint $YAMLLINT_VERSION, $("$kubectl" version --client 2>/dev/null | head -1))"
{
  printf 'DIRECTORY\tCHECK\tRESULT\tTIME\tNOTE\n'
  printf '%s\n' "${rows[@]}"
} | column -t -s $'\t'
echo "total $(fmt_ms "$total")"

npass=0 nfail=0
for r in "${rows[@]}"; do
  IFS=$'\t' read -r _ _ s _ _ <<<"$r"
  if [[ $s == PASS ]]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fi
done
echo "validate-manifests: $npass passed, $nfail failed"
exit "$failed"
