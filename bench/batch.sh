#!/usr/bin/env bash
# Grading a class: N submissions graded as one batch against N separate
# fresh grades (each in its own fresh clone and target directory, as a CI
# job per student without a shared cache would do). Prints both and the
# ratio, measured in the same run.
#
# usage: bench/batch.sh [EXERCISE] [N]   (default: 03-pool 3)
# Each fresh grade compiles the dependencies from scratch: expect minutes.
set -euo pipefail
EX="${1:-03-pool}"
N="${2:-3}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/grade-batch-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export NO_COLOR=1
now() { date +%s.%N; }

# N submissions: the reference, each with a different comment, so each is
# really compiled.
for i in $(seq 1 "$N"); do
    mkdir -p "$WORK/subs/student-$i/exercises/$EX"
    cp -r "$REPO/solutions/$EX/src" "$WORK/subs/student-$i/exercises/$EX/src"
    f=$(find "$WORK/subs/student-$i/exercises/$EX/src" -name '*.rs' | sort | head -1)
    echo "// submission $i" >>"$f"
done

echo "separate fresh grades ($N, each compiles the dependencies)..."
t0=$(now)
for i in $(seq 1 "$N"); do
    git clone -q "$REPO" "$WORK/fresh-$i"
    (cd "$WORK/fresh-$i" && CARGO_TARGET_DIR="$WORK/fresh-$i/target" \
        cargo grade "$EX" --submission "$WORK/subs/student-$i" --format json >/dev/null) || true
    rm -rf "$WORK/fresh-$i"
done
t1=$(now)
separate=$(echo "$t1 - $t0" | bc)

echo "one batch of $N (compiles the dependencies once)..."
git clone -q "$REPO" "$WORK/kit"
t0=$(now)
(cd "$WORK/kit" && CARGO_TARGET_DIR="$WORK/kit/target" \
    cargo grade batch --exercise "$EX" --out "$WORK/grades" "$WORK"/subs/student-*) || true
t1=$(now)
batch=$(echo "$t1 - $t0" | bc)

cat "$WORK/grades/gradebook.csv"
printf 'separate fresh grades: %.1f s\n' "$separate"
printf 'one batch:             %.1f s\n' "$batch"
printf 'ratio separate/batch:  %.2fx\n' "$(echo "scale=3; $separate / $batch" | bc)"
