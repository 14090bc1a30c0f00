#!/usr/bin/env bash
# Benchmark the dpatterns CLI as whole processes and print a markdown table.
#
#   scripts/bench.sh            # build (cargo build --release --locked), then bench
#
# Cases:
#   new       `dpatterns new demo --yes` into a fresh temp dir each run
#   render    `dpatterns render -f SPEC -o DIR` of a generated 100-component spec, fresh DIR
#   render_shm the same render into a fresh DIR on /dev/shm: the program without the disk
#   check     `dpatterns render --check -f SPEC -o DIR` against an already-rendered DIR
#   validate  `dpatterns validate -f SPEC`
#   deep      `dpatterns validate` of a 200 KB spec of nested `[` (refused: exit 2 expected)
#   deep_1m   the same with 1 MiB of nested `[` (the largest spec accepted for reading)
#   per-component table: `validate` of SCALES (default 100 1000 5000) components that run
#             an existing `image:`, with time and peak RSS per component
#
# Wall time: median/min/max over RUNS runs after WARMUP warm-ups, with hyperfine when it
# is installed (installed with apt-get when running as root), else a `date +%s%N` loop.
# Peak RSS: median of RSS_RUNS runs of GNU `/usr/bin/time -f %M`.
#
# Knobs (environment): RUNS (default 30), WARMUP (3), RSS_RUNS (7), COMPONENTS (100),
# SCALES ("100 1000 5000"), SCALE_RUNS (5: runs per scale of the per-component table),
# NO_BUILD=1 to skip the cargo build, NO_INSTALL=1 to never apt-get install,
# NO_HYPERFINE=1 to use the bash loop even when hyperfine is installed.
#
# Writes nothing inside the repository except target/ (via cargo); everything else goes to
# a temp dir that is removed on exit.
set -euo pipefail

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-7}
COMPONENTS=${COMPONENTS:-100}
SCALES=${SCALES:-100 1000 5000}
SCALE_RUNS=${SCALE_RUNS:-5}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/target/release/dpatterns

log() { printf '%s\n' "$*" >&2; }

# --- build --------------------------------------------------------------------------
if [[ -z ${NO_BUILD:-} ]]; then
    log "==> cargo build --release --locked"
    (cd "$ROOT" && cargo build --release --locked --quiet)
fi
[[ -x $BIN ]] || { log "error: $BIN not found"; exit 2; }

# --- tools --------------------------------------------------------------------------
NOTES=()
HF_N=()
can_install() { [[ -z ${NO_INSTALL:-} && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; }
apt_install() {
    # $1 = package; quiet, and refresh the index once if the first attempt fails
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1 ||
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1; }
}

if [[ -z ${NO_HYPERFINE:-} ]] && ! command -v hyperfine >/dev/null && can_install; then
    log "==> apt-get install hyperfine"
    apt_install hyperfine || log "    (hyperfine install failed; using a bash loop)"
fi
if [[ -z ${NO_HYPERFINE:-} ]] && command -v hyperfine >/dev/null; then
    TIMER="hyperfine $(hyperfine --version | awk '{print $2}')"
    # -N (no intermediate shell) exists since hyperfine 1.13
    if hyperfine --help 2>/dev/null | grep -q -- '--shell=none\|-N, '; then HF_N=(-N); else HF_N=(); fi
else
    TIMER="bash loop (date +%s%N; includes ~1 ms fork/exec of date)"
    NOTES+=("hyperfine not available: wall times come from a bash loop and include its overhead")
fi

if [[ ! -x /usr/bin/time ]] && can_install; then
    log "==> apt-get install time"
    apt_install time || true
fi
if [[ -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1; then
    HAVE_RSS=1
else
    HAVE_RSS=
    NOTES+=("GNU /usr/bin/time not available (and not root to install it): peak RSS skipped")
fi

# --- workspace and generated spec ---------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dpatterns-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

SPEC=$WORK/spec/dpatterns.yaml
mkdir -p "$WORK/spec"
gen_spec() {
    local spreads=(preferred required none) i n r mx
    cat <<EOF
apiVersion: dpatterns/v1alpha1
kind: System
metadata:
  name: bench${COMPONENTS}
spec:
  kubernetes: {version: "1.31"}
  registry: ghcr.io/bench
  components:
EOF
    for ((i = 0; i < COMPONENTS; i++)); do
        printf -v n 'c%03d' "$i"
        r=$((i % 5 + 1))
        mx=$((r + i % 7))
        cat <<EOF
    - name: $n
      pattern: replicated-service
      params:
        replicas: $r
        maxReplicas: $mx
        cpuTarget: $((50 + i % 40))
        port: $((8000 + i))
        servicePort: $((80 + i % 3))
        public: $( ((i % 4 == 0)) && echo true || echo false)
        spread: ${spreads[i % 3]}
EOF
        # every odd component calls its predecessor: a graph for the NetworkPolicies
        if ((i % 2 == 1)); then printf '        calls: c%03d\n' $((i - 1)); fi
    done
}
gen_spec >"$SPEC"

# Hostile nesting: 200 KB and 1 MiB of `[`, answered with the nesting-limit error.
DEEP=$WORK/spec/deep-200k.yaml
DEEP_1M=$WORK/spec/deep-1m.yaml
head -c 204800 /dev/zero | tr '\0' '[' >"$DEEP"
head -c 1048576 /dev/zero | tr '\0' '[' >"$DEEP_1M"

# N components running an existing image, params in flow style (5,000 fit in 1 MiB).
gen_scaled() { # N
    local n=$1 i
    printf 'apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata:\n  name: scale%s\nspec:\n  components:\n' "$n"
    for ((i = 0; i < n; i++)); do
        printf '    - name: c%04d\n      pattern: replicated-service\n      image: ghcr.io/bench/app:1.%d.0\n' "$i" $((i % 9))
        printf '      params: {replicas: %d, maxReplicas: %d, port: %d, servicePort: 80, public: %s}\n' \
            $((i % 5 + 1)) $((i % 5 + 1 + i % 7)) $((8000 + i % 1000)) "$( ((i % 4 == 0)) && echo true || echo false)"
    done
}
for n in $SCALES; do gen_scaled "$n" >"$WORK/spec/scale-$n.yaml"; done

NEW_CWD=$WORK/new            # `new demo` runs here; demo/ is removed before every run
NEW_DIR=$NEW_CWD/demo
RENDER_DIR=$WORK/render      # fresh for every render run
CHECK_DIR=$WORK/checked      # rendered once; --check compares against it
mkdir -p "$NEW_CWD"

# --- measurement helpers ------------------------------------------------------------
# Each case: a name, a prepare command (string, no shell features) and the command.
# Results go to R_<field>[case].
declare -A R_MED R_MIN R_MAX R_USR R_SYS R_RSS R_RUNS R_STATUS

median_of() { sort -g | awk '{a[NR]=$1} END{if(NR==0)exit 1; if(NR%2)print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

run_prepare() { [[ -z $1 ]] || $1; }   # word-split on purpose: "rm -rf DIR"

# EXPECT_RC: the exit code a case must have (0 unless set for one call); RUNS_NOW: runs.
EXPECT_RC=0

time_case() { # case prepare cmd...
    local name=$1 prep=$2; shift 2
    local json=$WORK/$name.json runs=${RUNS_NOW:-$RUNS}
    if [[ $TIMER == hyperfine* ]]; then
        local args=("${HF_N[@]}" --style none --warmup "$WARMUP" --runs "$runs" --export-json "$json")
        ((EXPECT_RC == 0)) || args+=(--ignore-failure)
        [[ -z $prep ]] || args+=(--prepare "$prep")
        # hyperfine word-splits the command with -N; our paths contain no spaces (mktemp)
        (cd "$NEW_CWD" && hyperfine "${args[@]}" "$*" >/dev/null)
        # one result in the file: pull median/min/max (seconds) out without jq
        R_MED[$name]=$(awk -F'[:,]' '/"median"/{print $2*1000; exit}' "$json")
        R_MIN[$name]=$(awk -F'[:,]' '/"min"/{print $2*1000; exit}' "$json")
        R_MAX[$name]=$(awk -F'[:,]' '/"max"/{print $2*1000; exit}' "$json")
        # mean CPU time of the process, split user / kernel (file creation shows up here)
        R_USR[$name]=$(awk -F'[:,]' '/"user"/{print $2*1000; exit}' "$json")
        R_SYS[$name]=$(awk -F'[:,]' '/"system"/{print $2*1000; exit}' "$json")
    else
        local i t0 t1 times=$WORK/$name.times
        : >"$times"
        for ((i = 0; i < WARMUP + runs; i++)); do
            run_prepare "$prep"
            t0=$(date +%s%N)
            # the status was checked once by bench_case; a case may be meant to fail (exit 2)
            (cd "$NEW_CWD" && "$@" >/dev/null 2>&1) || true
            t1=$(date +%s%N)
            ((i < WARMUP)) || echo "$(((t1 - t0) / 1000))" >>"$times" # µs
        done
        R_MED[$name]=$(awk '{print $1/1000}' "$times" | median_of)
        R_MIN[$name]=$(sort -g "$times" | head -1 | awk '{print $1/1000}')
        R_MAX[$name]=$(sort -g "$times" | tail -1 | awk '{print $1/1000}')
    fi
    R_RUNS[$name]=$runs
}

rss_case() { # case prepare cmd...
    local name=$1 prep=$2; shift 2
    [[ -n $HAVE_RSS ]] || { R_RSS[$name]=; return; }
    local i out=$WORK/$name.rss
    : >"$out"
    for ((i = 0; i < RSS_RUNS; i++)); do
        run_prepare "$prep"
        (cd "$NEW_CWD" && /usr/bin/time -f %M -a -o "$out" "$@" >/dev/null 2>&1) || true
    done
    # GNU time also writes "Command exited with non-zero status N" for a case meant to fail
    R_RSS[$name]=$(grep -E '^[0-9]+$' "$out" | median_of) # KiB
}

bench_case() { # case prepare cmd...
    local name=$1 prep=$2; shift 2
    log "==> $name: $*"
    # one checked run first: a failing command is reported, not timed
    run_prepare "$prep"
    local rc=0
    (cd "$NEW_CWD" && "$@" >"$WORK/$name.out" 2>&1) || rc=$?
    if ((rc != EXPECT_RC)); then
        R_STATUS[$name]="FAILED (exit $rc)"
        log "    exit $rc: $(head -c 300 "$WORK/$name.out" | tr '\n' ' ')"
        return 0
    fi
    R_STATUS[$name]=ok
    time_case "$name" "$prep" "$@"
    rss_case "$name" "$prep" "$@"
}

# --- cases --------------------------------------------------------------------------
START=$(date +%s)
bench_case new "rm -rf $NEW_DIR" "$BIN" new demo --yes
NEW_FILES=$( [[ -d $NEW_DIR ]] && find "$NEW_DIR" -type f | wc -l || echo 0)

bench_case render "rm -rf $RENDER_DIR" "$BIN" render -f "$SPEC" -o "$RENDER_DIR"
# The same render into memory-backed storage: what the program costs without the disk.
if [[ -d /dev/shm && -w /dev/shm ]]; then
    SHM_DIR=$(mktemp -d /dev/shm/dpatterns-bench.XXXXXX)
    trap 'rm -rf "$WORK" "$SHM_DIR"' EXIT
    bench_case render_shm "rm -rf $SHM_DIR/render" "$BIN" render -f "$SPEC" -o "$SHM_DIR/render"
fi
RENDER_FILES=$( [[ -d $RENDER_DIR ]] && find "$RENDER_DIR" -type f | wc -l || echo 0)
RENDER_BYTES=$( [[ -d $RENDER_DIR ]] && du -sk "$RENDER_DIR" | awk '{print $1}' || echo 0)

rm -rf "$CHECK_DIR"
if "$BIN" render -q -f "$SPEC" -o "$CHECK_DIR" >/dev/null 2>&1; then
    bench_case check "" "$BIN" render --check -f "$SPEC" -o "$CHECK_DIR"
    [[ ${R_STATUS[check]} != "FAILED (exit 1)" ]] ||
        R_STATUS[check]="FAILED (exit 1: drift on a freshly rendered dir — output not deterministic?)"
else
    R_STATUS[check]="FAILED (could not render the reference dir)"
fi

bench_case validate "" "$BIN" validate -f "$SPEC"

EXPECT_RC=2
bench_case deep "" "$BIN" validate -f "$DEEP"
bench_case deep_1m "" "$BIN" validate -f "$DEEP_1M"
EXPECT_RC=0

for n in $SCALES; do
    RUNS_NOW=$SCALE_RUNS bench_case "scale_$n" "" "$BIN" validate -f "$WORK/spec/scale-$n.yaml"
done

# --- table --------------------------------------------------------------------------
fmt_ms() { awk -v v="$1" 'BEGIN{ if (v=="") print "–"; else if (v<10) printf "%.2f ms", v; else printf "%.1f ms", v }'; }
fmt_cpu() { awk -v u="$1" -v s="$2" 'BEGIN{ if (u=="") print "–"; else printf "%.0f / %.0f ms", u, s }'; }
fmt_mib() { awk -v v="$1" 'BEGIN{ if (v=="") print "–"; else printf "%.1f MiB", v/1024 }'; }
verdict() { # case time_target_ms rss_target_mib(or empty)
    local name=$1 tt=$2 rt=${3:-}
    [[ ${R_STATUS[$name]} == ok ]] || { echo "**${R_STATUS[$name]}**"; return; }
    awk -v m="${R_MED[$name]}" -v tt="$tt" -v r="${R_RSS[$name]:-}" -v rt="$rt" 'BEGIN{
        s = (m < tt) ? "time ok" : sprintf("**time %.0fx over**", m/tt)
        if (rt != "" && r != "") s = s ", " ((r/1024 < rt) ? "RSS ok" : "**RSS over**")
        print s }'
}
row() { # case label time_target rss_target
    local name=$1 label=$2 tt=$3 rt=${4:-} target
    target="< $tt ms"
    [[ -z $rt ]] || target+=" / < $rt MiB"
    if [[ ${R_STATUS[$name]} == ok ]]; then
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
            "$(fmt_ms "${R_MED[$name]}")" "$(fmt_ms "${R_MIN[$name]}")" "$(fmt_ms "${R_MAX[$name]}")" \
            "$(fmt_cpu "${R_USR[$name]:-}" "${R_SYS[$name]:-}")" "${R_RUNS[$name]}" "$(fmt_mib "${R_RSS[$name]:-}")" "$target" "$(verdict "$name" "$tt" "$rt")"
    else
        printf '| %s | – | – | – | – | – | – | %s | %s |\n' "$label" "$target" "$(verdict "$name" "$tt" "$rt")"
    fi
}

echo
echo "## dpatterns benchmark"
echo
echo "- binary: \`$("$BIN" --version 2>/dev/null || echo "$BIN")\` (release)"
echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || uname -m)"
echo "- timer: $TIMER; $WARMUP warm-ups, $RUNS timed runs; peak RSS = median of $RSS_RUNS runs of \`/usr/bin/time -f %M\`"
echo "- spec: $COMPONENTS replicated-service components (c000..c$(printf '%03d' $((COMPONENTS - 1))), varied params, every odd one \`calls\` its predecessor)"
echo "- output: \`new\` wrote $NEW_FILES files; \`render\` wrote $RENDER_FILES files ($(awk -v k="$RENDER_BYTES" 'BEGIN{printf "%.1f MiB", k/1024}') on disk)"
echo
echo "| case | median | min | max | CPU user / sys (mean) | runs | peak RSS | target | verdict |"
echo "|---|---:|---:|---:|---:|---:|---:|---|---|"
row new "\`new demo --yes\`" 10 10
row render "\`render\` $COMPONENTS components, fresh dir" 100
[[ -n ${SHM_DIR:-} ]] && row render_shm "\`render\` $COMPONENTS components, fresh dir on tmpfs (/dev/shm)" 100
row check "\`render --check\` $COMPONENTS components, no drift" 100
row validate "\`validate\` $COMPONENTS components" 100
row deep "\`validate\` 200 KB of nested \`[\` (refused, exit 2)" 100
row deep_1m "\`validate\` 1 MiB of nested \`[\` (refused, exit 2)" 100
echo "| _ref: cargo-generate, 20-file template_ | 21.5 ms | | | | | 11.8 MiB | | reference |"
echo "| _ref: \`helm template\` starter chart_ | 44 ms | | | | | 46 MiB | | reference |"
echo
echo "### validate per component (components with \`image:\`)"
echo
echo "| components | spec size | median | peak RSS | time / component | RSS / component | time / component vs the smallest |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
FIRST_PER=
for n in $SCALES; do
    name=scale_$n
    size=$(wc -c <"$WORK/spec/scale-$n.yaml")
    if [[ ${R_STATUS[$name]} != ok ]]; then
        printf '| %s | %s KiB | **%s** | | | | |\n' "$n" $((size / 1024)) "${R_STATUS[$name]}"
        continue
    fi
    per=$(awk -v m="${R_MED[$name]}" -v n="$n" 'BEGIN{printf "%.1f", m*1000/n}') # µs
    [[ -n $FIRST_PER ]] || FIRST_PER=$per
    printf '| %s | %s KiB | %s | %s | %s µs | %s | %s |\n' "$n" $((size / 1024)) \
        "$(fmt_ms "${R_MED[$name]}")" "$(fmt_mib "${R_RSS[$name]:-}")" "$per" \
        "$(awk -v r="${R_RSS[$name]:-}" -v n="$n" 'BEGIN{ if (r=="") print "–"; else printf "%.1f KiB", r/n }')" \
        "$(awk -v p="$per" -v f="$FIRST_PER" 'BEGIN{printf "%.2fx", p/f}')"
done
echo
if ((${#NOTES[@]})); then
    for n in "${NOTES[@]}"; do echo "- note: $n"; done
fi
echo "- note: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') on $(nproc) cores; measuring took $(($(date +%s) - START)) s (build excluded)"
echo "- note: the validate target (< 100 ms) is assumed equal to render's; none was given."
