#!/usr/bin/env bash
# Makes Cargo rebuild what differs when many generated workspaces share one target folder.
# Cargo keys a workspace member by its name and its path relative to the workspace, and
# judges it fresh by comparing its sources' modification times with its last build: a
# crate `api` (or `common`) of one workspace, rendered before another workspace's `api`
# was built, would be taken as already built, and the other's binary tested in its place.
# So for each crate of WORKSPACE this compares the sources with those of the crate of that
# name built last (recorded under $CARGO_TARGET_DIR/dpatterns-built-from/) and, when they
# differ (a `description` line aside, which names the system and compiles to nothing),
# touches them, so Cargo rebuilds that crate and only that one.
# Usage: fresh-crates.sh WORKSPACE  (CARGO_TARGET_DIR set); call before each build.
set -euo pipefail

ws="$(cd "$1" && pwd)"
record="${CARGO_TARGET_DIR:?}/dpatterns-built-from"
mkdir -p "$record"
for crate in "$ws"/*/; do
  crate="${crate%/}"
  [ -f "$crate/Cargo.toml" ] || continue
  name="$(basename "$crate")"
  last=""
  [ -f "$record/$name" ] && last="$(cat "$record/$name")"
  if [ "$last" != "$crate" ]; then
    if [ -z "$last" ] || [ ! -d "$last" ] ||
      ! diff -rq -I '^description = ' -x target "$last" "$crate" >/dev/null 2>&1; then
      find "$crate" -path "$crate/target" -prune -o -type f -exec touch {} +
    fi
    printf '%s\n' "$crate" >"$record/$name"
  fi
done
