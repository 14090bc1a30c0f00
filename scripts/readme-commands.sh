#!/usr/bin/env bash
# readme-commands.sh — run a generated project's README, and the steps `dpatterns new`
# prints, as a new user would, on a machine without a cluster or docker.
#
# Usage: scripts/readme-commands.sh DPATTERNS_BIN PROJECT_DIR [PROJECT_DIR...]
#
# For each PROJECT_DIR (a rendered project; it is copied first, never changed), every
# fenced ```sh block of its README.md runs with bash -eu from the project folder. Then
# `dpatterns new demo --yes` runs in an empty folder and the commands it prints run the
# same way. What needs no cluster runs for real: dpatterns, cargo (CARGO_TARGET_DIR is
# honoured), `kubectl kustomize`, and `kustomize edit` when kustomize is installed. What
# needs docker or a cluster is checked as far as that is possible without them, by
# stand-ins put first on PATH:
#   docker build -f F -t T CTX   F is a file and CTX a folder; T is then "built"
#   docker tag A B / docker push T   A or T was built
#   docker buildx imagetools inspect I   I is in a FROM line of a services/*/Dockerfile
#   kind load docker-image T / minikube image load T   T was built; it is then available
#   kustomize edit set image N=I  (only without a real kustomize) N is an `images:` name of
#                                 ./kustomization.yaml; the entry is changed to I
#   kubectl apply -k DIR          `kubectl kustomize DIR` builds, and every image of its
#                                 output that the README built or the overlay names
#                                 under `images:` was loaded or pushed, tag and all
#   kubectl -n NS rollout status KIND/NAME, wait … KIND --all, wait … KIND/NAME, get pods
#                                 the applied objects hold them in namespace NS
# Any other command of docker, kind, minikube or kubectl fails, as does a command that
# does not exist. After the README ran, `dpatterns render --check` must find no drift (its
# edits are to files that are the user's). Last, the script proves it can fail: a README
# naming a Dockerfile or an overlay that does not exist must make it exit non-zero.
# Needs python3 with PyYAML ($DPATTERNS_PYTHON, default: the validators' venv, else python3).
# Exit status: 0 all passed, 1 a command failed, 2 usage.

set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$script_dir/.." && pwd)"
(($# >= 2)) || { sed -n '2,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
dpatterns="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
[[ -x "$dpatterns" ]] || { echo "readme-commands: $dpatterns is not executable" >&2; exit 2; }
venv="${DPATTERNS_VENV:-$repo_dir/target/validate-venv}"
python="${DPATTERNS_PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x "$venv/bin/python" ]]; then python="$venv/bin/python"; else python=python3; fi
fi
python="$(command -v "$python")" || { echo "readme-commands: no python3" >&2; exit 2; }
"$python" -c 'import yaml' 2>/dev/null || { echo "readme-commands: $python has no PyYAML" >&2; exit 2; }
real_kubectl="$(command -v "${KUBECTL:-kubectl}")" || { echo "readme-commands: kubectl not found" >&2; exit 2; }
real_kustomize="$(command -v kustomize || true)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- the stand-ins
shims="$work/bin"
mkdir -p "$shims"
ln -s "$dpatterns" "$shims/dpatterns"
cat >"$shims/stand-in.py" <<'PY'
"""Stand-ins for docker, kind, minikube, kubectl and kustomize (see readme-commands.sh)."""
import glob, json, os, subprocess, sys
import yaml

state = os.environ["README_STATE"]
tool = os.path.basename(sys.argv[0])
args = sys.argv[1:]


def fail(message):
    print(f"readme-commands: {tool} {' '.join(args)}: {message}", file=sys.stderr)
    sys.exit(1)


def load(name):
    try:
        with open(os.path.join(state, name)) as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def save(name, items):
    with open(os.path.join(state, name), "w") as f:
        json.dump(sorted(set(items)), f)


def option(flags):
    for i, a in enumerate(args):
        if a in flags and i + 1 < len(args):
            return args[i + 1]
        for f in flags:
            if f.startswith("--") and a.startswith(f + "="):
                return a.split("=", 1)[1]
    return None


def positional():
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-f", "-t", "-n", "--namespace", "--file", "--tag", "--timeout", "--for"):
            skip = True
        elif not a.startswith("-"):
            out.append(a)
    return out


def repository(image):
    image = image.split("@")[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    return image[:colon] if colon > slash else image


def images_of(docs):
    found = []
    def walk(v):
        if isinstance(v, dict):
            for c in v.get("containers", []) + v.get("initContainers", []):
                if isinstance(c, dict) and "image" in c:
                    found.append(c["image"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    for d in docs:
        walk(d)
    return found


def make_available(images):
    built = load("built")
    for image in images:
        if image not in built:
            fail(f"{image} was not built by an earlier command (docker build -t {image} …)")
    save("available", load("available") + images)


if tool == "docker":
    sub = args[0] if args else ""
    if sub == "build":
        dockerfile, tag = option(["-f", "--file"]), option(["-t", "--tag"])
        rest = positional()[1:]
        if not dockerfile or not tag or len(rest) != 1:
            fail("expected docker build -f DOCKERFILE -t IMAGE CONTEXT")
        if not os.path.isfile(dockerfile):
            fail(f"no Dockerfile at {dockerfile}")
        if not os.path.isdir(rest[0]):
            fail(f"the build context {rest[0]} is not a folder")
        save("built", load("built") + [tag])
    elif sub == "tag" and len(args) == 3:
        if args[1] not in load("built"):
            fail(f"{args[1]} was not built")
        save("built", load("built") + [args[2]])
    elif sub == "push" and len(args) == 2:
        make_available([args[1]])
    elif args[:3] == ["buildx", "imagetools", "inspect"] and len(args) == 4:
        # Asks the registry for a base image's digest: the image must be one that a
        # FROM line of the project's Dockerfiles names.
        named = set()
        for dockerfile in glob.glob("services/**/Dockerfile", recursive=True):
            with open(dockerfile) as f:
                for line in f:
                    words = line.split()
                    if len(words) >= 2 and words[0].upper() == "FROM":
                        named.add(words[1])
        if args[3] not in named:
            fail(f"{args[3]} is not the base image of any services/*/Dockerfile")
    else:
        fail("not a docker command the README test knows")
elif tool == "kind":
    if args[:2] != ["load", "docker-image"] or len(args) < 3:
        fail("expected kind load docker-image IMAGE…")
    make_available([a for a in args[2:] if not a.startswith("-")])
elif tool == "minikube":
    if args[:2] != ["image", "load"] or len(args) < 3:
        fail("expected minikube image load IMAGE…")
    make_available([a for a in args[2:] if not a.startswith("-")])
elif tool == "kustomize":
    # Only without a real kustomize: the edit `kustomize edit set image` makes.
    if args[:3] != ["edit", "set", "image"] or len(args) < 4:
        fail("only `kustomize edit set image NAME=IMAGE` is known")
    with open("kustomization.yaml") as f:
        k = yaml.safe_load(f)
    for spec in args[3:]:
        name, _, image = spec.partition("=")
        entry = next((e for e in k.get("images") or [] if e.get("name") == name), None)
        if entry is None:
            fail(f"{name} is not an `images:` name of {os.getcwd()}/kustomization.yaml")
        entry["newName"] = repository(image)
        if ":" in image[len(repository(image)):]:
            entry["newTag"] = image[len(repository(image)) + 1:]
    with open("kustomization.yaml", "w") as f:
        yaml.safe_dump(k, f, sort_keys=False)
elif tool == "kubectl":
    real = os.environ["README_KUBECTL"]
    if args[:1] == ["kustomize"]:
        os.execv(real, [real] + args)
    namespace = option(["-n", "--namespace"])
    words = positional()
    applied = load("applied")
    if words[:1] == ["apply"]:
        directory = option(["-k", "--kustomize"])
        if not directory:
            fail("expected kubectl apply -k DIR")
        built = subprocess.run([real, "kustomize", directory], capture_output=True, text=True)
        if built.returncode != 0:
            fail(f"kubectl kustomize {directory} fails:\n{built.stderr}")
        docs = [d for d in yaml.safe_load_all(built.stdout) if d]
        with open(os.path.join(directory, "kustomization.yaml")) as f:
            named = [e.get("newName", e.get("name")) for e in (yaml.safe_load(f) or {}).get("images") or []]
        ours = set(named) | {repository(i) for i in load("built")}
        available = load("available")
        for image in images_of(docs):
            if repository(image) in ours and image not in available:
                fail(f"the pods would run {image}, which no earlier command loaded into the cluster or pushed")
        applied += [{"kind": d.get("kind"), "name": d["metadata"]["name"],
                     "namespace": d["metadata"].get("namespace")} for d in docs]
        save_json = os.path.join(state, "applied")
        with open(save_json, "w") as f:
            json.dump(applied, f)
    elif words[:2] == ["rollout", "status"] and len(words) == 3:
        kind, _, name = words[2].partition("/")
        if not any(o["kind"].lower() == kind and o["name"] == name and o["namespace"] == namespace for o in applied):
            fail(f"no {words[2]} in namespace {namespace} was applied")
    elif words[:1] == ["wait"] and "--all" not in args and len(words) == 2 and "/" in words[1]:
        kind, _, name = words[1].partition("/")
        if not any(o["kind"].lower() == kind and o["name"] == name and o["namespace"] == namespace for o in applied):
            fail(f"no {words[1]} in namespace {namespace} was applied")
    elif words[:1] == ["wait"] and "--all" in args and len(words) == 2:
        if not any(o["kind"].lower() == words[1] and o["namespace"] == namespace for o in applied):
            fail(f"no {words[1]} in namespace {namespace} was applied")
    elif words == ["get", "pods"]:
        if not any(o["namespace"] == namespace for o in applied):
            fail(f"nothing was applied in namespace {namespace}")
    else:
        fail("not a kubectl command the README test knows")
else:
    fail("unknown stand-in")
PY
sed -i "1i #!$python" "$shims/stand-in.py"
chmod +x "$shims/stand-in.py"
# A link per tool: the name it is called by (argv[0]) says which tool to stand in for.
for tool in docker kind minikube kubectl; do
  ln -s "$shims/stand-in.py" "$shims/$tool"
done
if [[ -z "$real_kustomize" ]]; then
  ln -s "$shims/stand-in.py" "$shims/kustomize"
fi
export README_KUBECTL="$real_kubectl"

# run_commands NAME DIR FILE: runs FILE (a shell script) with bash -eu from DIR, with the
# stand-ins first on PATH and a fresh record of what was built, loaded and applied.
run_commands() {
  local name=$1 dir=$2 file=$3
  export README_STATE="$work/state-$name"
  rm -rf "$README_STATE"
  mkdir -p "$README_STATE"
  echo "--- $name"
  sed 's/^/    /' "$file"
  (cd "$dir" && PATH="$shims:$PATH" bash -eu "$file")
}

# The fenced ```sh blocks of a README, each as its own script.
extract_blocks() { # README OUT_PREFIX -> prints the script files
  awk -v out="$2" '
    /^```sh[ \t]*$/ { n++; file = out "-" n ".sh"; inside = 1; printf "" > file; print file; next }
    /^```/ && inside { inside = 0; close(file); next }
    inside { print >> file }
  ' "$1"
}

# check_readme DIR [ORIGINAL_README]: every block of DIR/README.md (only those that differ
# from ORIGINAL_README's, when given: each block starts afresh), then no drift.
check_readme() {
  local project=$1 original=${2:-} name blocks block i=0
  local -a before=()
  name="$(basename "$project")"
  [[ -f "$project/README.md" ]] || { echo "readme-commands: $project has no README.md" >&2; return 1; }
  mapfile -t blocks < <(extract_blocks "$project/README.md" "$work/$name-readme")
  ((${#blocks[@]})) || { echo "readme-commands: no sh block in $project/README.md" >&2; return 1; }
  [[ -n "$original" ]] && mapfile -t before < <(extract_blocks "$original" "$work/$name-original")
  for block in "${blocks[@]}"; do
    if [[ -n "$original" && -f "${before[$i]:-}" ]] && cmp -s "$block" "${before[$i]}"; then
      i=$((i + 1))
      continue
    fi
    i=$((i + 1))
    run_commands "$name: README $(basename "$block" .sh)" "$project" "$block" || return 1
  done
  (cd "$project" && "$dpatterns" -q render --check) ||
    { echo "readme-commands: the README's commands made $project drift from its spec" >&2; return 1; }
}

failed=0
for project in "$@"; do
  name="$(basename "$project")"
  rm -rf "${work:?}/$name"
  cp -a "$project" "$work/$name"
  if check_readme "$work/$name"; then echo "readme-commands: $name: README ok"; else echo "readme-commands: $name: README FAILED"; failed=1; fi
done

# The steps `new` prints: the lines after its "next steps" line.
mkdir -p "$work/new"
(cd "$work/new" && "$dpatterns" new demo --yes >"$work/new-output.txt")
sed -n '/^next steps/,$p' "$work/new-output.txt" | sed -n 's/^  //p' >"$work/new-steps.sh"
if [[ ! -s "$work/new-steps.sh" ]]; then
  echo "readme-commands: \`dpatterns new\` printed no next steps" >&2
  failed=1
else
  if run_commands "new demo: next steps" "$work/new" "$work/new-steps.sh"; then
    echo "readme-commands: new's next steps ok"
  else
    echo "readme-commands: new's next steps FAILED"
    failed=1
  fi
fi

# The check itself must be able to fail: a README naming a Dockerfile, then an overlay,
# that does not exist.
first="${1%/}"
for broken in 's#services/\([a-z0-9-]*\)/Dockerfile#services/\1-missing/Dockerfile#' \
  's#apply -k k8s/overlays/\([a-z0-9-]*\)#apply -k k8s/overlays/\1-missing#'; do
  rm -rf "$work/broken"
  cp -a "$first" "$work/broken"
  sed -i "$broken" "$work/broken/README.md"
  if cmp -s "$first/README.md" "$work/broken/README.md"; then
    continue # nothing of that kind in this README
  fi
  if check_readme "$work/broken" "$first/README.md" >"$work/broken.log" 2>&1; then
    echo "readme-commands: a README broken with '$broken' still passed" >&2
    failed=1
  else
    echo "readme-commands: a README broken with '$broken' fails, as it must: $(grep -m1 '^readme-commands: ' "$work/broken.log" || tail -1 "$work/broken.log")"
  fi
done

exit "$failed"
