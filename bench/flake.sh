#!/usr/bin/env bash
# Zero false fails: grades each reference solution N times with fresh random
# seeds while two cargo builds keep the machine busy, and prints the
# failures per exercise with their seeds. The figure to reach is 0: a
# correct program must never fail. Replay a failure with the command it
# prints (`cargo grade NN --reference --seed S --fresh`).
#
# usage: bench/flake.sh [-n N] [-l LOAD] [EXERCISE...]
#   -n N     grades per exercise (default 200)
#   -l LOAD  background cargo builds (default 2; 0 for an idle machine)
#   EXERCISE as `cargo grade` takes them (default: every exercise)
# Reports of failed grades are kept in target/flake/<exercise>-<seed>.json.
# It grades a snapshot of the kit taken when it starts (the working tree,
# uncommitted changes included), so editing the kit meanwhile changes
# nothing; the snapshot builds in target/flake/target, kept warm for the
# next run. The background builds run in another copy with target
# directories of their own; all of it is stopped on exit, Ctrl-C or kill.
set -euo pipefail
N=200
LOAD=2
while getopts "n:l:h" opt; do
    case "$opt" in
    n) N="$OPTARG" ;;
    l) LOAD="$OPTARG" ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
case "$N$LOAD" in *[!0-9]*) echo "flake.sh: -n and -l take numbers" >&2; exit 2 ;; esac

REPO="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${CARGO_TARGET_DIR:-$REPO/target}/flake"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/grade-flake.XXXXXX)"
LOADERS=()

stop_load() {
    local pid
    for pid in "${LOADERS[@]}"; do
        # Each loader leads its own process group (set -m): its cargo and
        # rustc children go with it.
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${LOADERS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    LOADERS=()
    rm -rf "$WORK"
}
trap stop_load EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

# The kit as it is now, without build output or git.
mkdir -p "$WORK/kit"
(cd "$REPO" && tar --exclude=./target --exclude=./.git --exclude=./.grade -cf - .) | tar -C "$WORK/kit" -xf -
cd "$WORK/kit"
export CARGO_TARGET_DIR="$OUT/target"
echo "building the grader (the first run also compiles the dependencies into $CARGO_TARGET_DIR)..."
cargo build -q -p grader
GRADE="$CARGO_TARGET_DIR/debug/cargo-grade"

if [ "$#" -eq 0 ]; then
    mapfile -t EXERCISES < <(find exercises -mindepth 1 -maxdepth 1 -type d -name '[0-9][0-9]-*' -printf '%f\n' | sort)
else
    EXERCISES=("$@")
fi

# Warm: each reference builds once before the clock matters.
for ex in "${EXERCISES[@]}"; do
    "$GRADE" "$ex" --reference --seed 1 --format json >/dev/null || true
done

if [ "$LOAD" -gt 0 ]; then
    cp -a "$WORK/kit" "$WORK/load"
    set -m
    for i in $(seq 1 "$LOAD"); do
        # A real compile from scratch, again and again: the harness and
        # its dependencies (tokio, hyper, ...) in a target dir of its own.
        (
            cd "$WORK/load"
            unset CARGO_TARGET_DIR
            while true; do
                rm -rf "$WORK/load-target-$i"
                cargo build -q -p harness --target-dir "$WORK/load-target-$i" >/dev/null 2>&1 || true
            done
        ) &
        LOADERS+=("$!")
    done
    set +m
    echo "background load: $LOAD cargo builds (pids ${LOADERS[*]})"
fi

declare -A FAILS
declare -A SEEDS
started=$SECONDS
for ex in "${EXERCISES[@]}"; do
    FAILS[$ex]=0
    SEEDS[$ex]=""
    for i in $(seq 1 "$N"); do
        seed=$(( (RANDOM << 15 | RANDOM) % 1000000000 ))
        report="$WORK/report.json"
        code=0
        "$GRADE" "$ex" --reference --seed "$seed" --fresh --format json >"$report" 2>"$WORK/stderr" || code=$?
        if [ "$code" -ne 0 ]; then
            FAILS[$ex]=$((FAILS[$ex] + 1))
            SEEDS[$ex]="${SEEDS[$ex]} $seed"
            cp "$report" "$OUT/$ex-$seed.json"
            if command -v jq >/dev/null; then
                checks=$(jq -r '[.. | objects | select(has("status") and has("stage") and (.status == "fail" or .status == "error")) | .id] | join(", ")' "$report" 2>/dev/null || true)
            else
                checks="see $OUT/$ex-$seed.json"
            fi
            echo "FAIL $ex seed $seed (exit $code): ${checks:-$(head -c 300 "$WORK/stderr")}"
            echo "     replay: cargo grade $ex --reference --seed $seed --fresh"
        fi
        if [ $((i % 20)) -eq 0 ]; then
            echo "$ex: $i/$N graded, ${FAILS[$ex]} failed ($((SECONDS - started)) s)"
        fi
    done
done

echo
echo "false fails: $N grades of each reference, $LOAD background builds, $((SECONDS - started)) s"
total=0
for ex in "${EXERCISES[@]}"; do
    printf '  %-10s %3d / %d failed%s\n' "$ex" "${FAILS[$ex]}" "$N" "${SEEDS[$ex]:+  seeds:${SEEDS[$ex]}}"
    total=$((total + FAILS[$ex]))
done
[ "$total" -eq 0 ]
