#!/usr/bin/env bash
# Runs the end-to-end tests of the generated programs against real backends, each
# scripts/e2e/<name>.sh on its own with a time limit, after installing the backends they
# name (scripts/install-backends.sh). Every test starts what it needs on 127.0.0.1 and
# stops it when it ends, passing or not.
# Usage: scripts/e2e/run.sh PROOF [NAME...]
#   PROOF is the folder where scripts/test.sh rendered every fixture (one project per
#   catalog example, named by pattern id); NAMEs pick tests (default: all of them).
#   CARGO_TARGET_DIR names the target folder shared by the generated workspaces.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
proof="$(cd "$1" && pwd)"
shift
bash "$here/../install-backends.sh"
names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
  for script in "$here"/*.sh; do
    case "$(basename "$script")" in run.sh | lib.sh) continue ;; esac
    names+=("$(basename "$script" .sh)")
  done
fi
failed=()
for name in "${names[@]}"; do
  start=$SECONDS
  if timeout --kill-after=10 600 bash "$here/$name.sh" "$proof"; then
    echo "e2e $name: ok ($((SECONDS - start))s)"
  else
    echo "e2e $name: FAILED ($((SECONDS - start))s)"
    failed+=("$name")
  fi
done
[ "${#failed[@]}" -eq 0 ] || { echo "e2e failed: ${failed[*]}"; exit 1; }
