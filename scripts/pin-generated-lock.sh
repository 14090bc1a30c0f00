#!/usr/bin/env bash
# Re-pins templates/_common/Cargo.lock.pinned: the lock of the union of every crate that a
# generated workspace can hold, from which each render keeps what its own workspace needs
# (src/lockfile/). Run it after adding or changing a dependency of the generated workspace
# (templates/_common/project/services/Cargo.toml.hbs or a pattern's rust/Cargo.toml.hbs),
# and commit the result with the snapshots it changes.
#
#   scripts/pin-generated-lock.sh            keep every pinned version, add what is new
#   scripts/pin-generated-lock.sh --update   re-resolve everything to the newest versions
#
# How: render every embedded pattern's example, every example of the user-catalog fixture,
# every spec of tests/fixtures/specs and `dpatterns new --yes`; copy all their crates into one workspace (each renamed so that
# the names do not clash), let Cargo lock it, and store that lock. Then render them all again
# with the new pin and check that Cargo keeps each rendered lock byte for byte
# (`cargo update --workspace --offline` changes nothing). Needs crates.io's index once.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
pinned="$repo/templates/_common/Cargo.lock.pinned"
update=no
case "${1:-}" in
  --update) update=yes ;;
  "") ;;
  *)
    echo "usage: $0 [--update]" >&2
    exit 2
    ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

render_all() {
  local into="$1" example id
  cargo build --locked --quiet
  local bin="$repo/target/debug/dpatterns"
  for example in templates/*/example.yaml; do
    id="$(basename "$(dirname "$example")")"
    mkdir -p "$into/$id" && cp "$example" "$into/$id/dpatterns.yaml"
    "$bin" -q render -f "$into/$id/dpatterns.yaml"
  done
  for example in tests/fixtures/user-catalog/*/example.yaml; do
    id="user-$(basename "$(dirname "$example")")"
    mkdir -p "$into/$id" && cp "$example" "$into/$id/dpatterns.yaml"
    "$bin" -q --templates tests/fixtures/user-catalog render -f "$into/$id/dpatterns.yaml"
  done
  # The specs of tests/fixtures/specs choose parameters the examples do not (leader-election's
  # kubernetes backend, whose crates depend on kube): scripts/test.sh builds them too.
  for example in tests/fixtures/specs/*.yaml; do
    id="spec-$(basename "$example" .yaml)"
    mkdir -p "$into/$id" && cp "$example" "$into/$id/dpatterns.yaml"
    "$bin" -q render -f "$into/$id/dpatterns.yaml"
  done
  "$bin" -q new "$into/demo" --yes >/dev/null
}

render_all "$work/rendered"

# One workspace holding every rendered crate. The workspace manifest (and so every shared
# dependency with its features) is the same template in every project; check that it is.
union="$work/union"
mkdir -p "$union"
first=""
members=()
n=0
for ws in "$work"/rendered/*/services; do
  [ -f "$ws/Cargo.toml" ] || continue
  deps="$(sed -n '/^\[workspace.dependencies\]/,/^\[/p' "$ws/Cargo.toml")"
  if [ -z "$first" ]; then
    first="$ws"
    first_deps="$deps"
    cp -r "$ws/common" "$union/common"
    members+=("common")
  elif [ "$deps" != "$first_deps" ]; then
    echo "pin: $ws/Cargo.toml has other [workspace.dependencies] than $first/Cargo.toml" >&2
    exit 1
  fi
  for crate in "$ws"/*/; do
    n=$((n + 1))
    dir="pin-$n"
    cp -r "$crate" "$union/$dir"
    # A unique package name per copy: the first `name = ` line is the [package] name.
    sed -i '0,/^name = .*/s//name = "'"$dir"'"/' "$union/$dir/Cargo.toml"
    members+=("$dir")
  done
done
[ -n "$first" ] || {
  echo "pin: no rendered project has a services/ workspace" >&2
  exit 1
}
list="$(printf '"%s", ' "${members[@]}")"
sed -e "s/^members = .*/members = [${list%, }]/" "$first/Cargo.toml" >"$union/Cargo.toml"

if [ "$update" = yes ] || [ ! -f "$pinned" ]; then
  (cd "$union" && cargo generate-lockfile --quiet)
else
  # Cargo keeps every locked version it can and resolves only what is new.
  cp "$pinned" "$union/Cargo.lock"
  (cd "$union" && cargo update --workspace --quiet)
fi
# The union's own members (sourceless entries) mean nothing to a render: keep the rest.
awk 'BEGIN { RS = ""; ORS = "\n\n" } NR == 1 || /\nsource = / { buf = buf $0 ORS } END { printf "%s", substr(buf, 1, length(buf) - 1) }' \
  "$union/Cargo.lock" >"$pinned"
echo "pin: wrote $pinned ($(grep -c '^\[\[package\]\]' "$pinned") packages)"

# The proof: with the new pin, every rendered lock is exactly what Cargo keeps.
render_all "$work/check"
status=0
for ws in "$work"/check/*/services; do
  [ -f "$ws/Cargo.toml" ] || continue
  if [ ! -f "$ws/Cargo.lock" ]; then
    echo "pin: $ws: no Cargo.lock rendered" >&2
    status=1
    continue
  fi
  cp "$ws/Cargo.lock" "$work/rendered.lock"
  (cd "$ws" && cargo update --workspace --offline --quiet)
  if ! diff -u "$work/rendered.lock" "$ws/Cargo.lock" >&2; then
    echo "pin: $ws: Cargo changed the rendered lock (diff above)" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "pin: every rendered lock is kept by Cargo unchanged"
exit "$status"
