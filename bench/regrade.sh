#!/usr/bin/env bash
# Measures the design's re-grade budgets on this machine, in one run:
#   edit   - `cargo grade EXERCISE` after a one-line edit, against the bare
#            equivalent of `cargo test` of the same suite (build the
#            exercise and the suite with cargo, run the suite binary);
#            budget: ratio <= 1.25
#   noedit - `cargo grade EXERCISE` with nothing changed; budget: < 1 s
#            (the verdict is reused; `--fresh`, which runs every check
#            again, is measured and printed too)
# It works in a throwaway clone (your exercises are never touched) with a
# target directory kept under target/bench so later runs start warm.
#
# usage: bench/regrade.sh [EXERCISE] [ROUNDS]   (default: 01-bind 5)
set -euo pipefail
EX="${1:-01-bind}"
ROUNDS="${2:-5}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/grade-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export CARGO_TARGET_DIR="$REPO/target/bench"
export NO_COLOR=1

git clone -q "$REPO" "$WORK/kit"
cd "$WORK/kit"
# Grade a complete submission so every check runs.
rm -rf "exercises/$EX/src" && cp -r "solutions/$EX/src" "exercises/$EX/src"
pkg() { sed -n 's/^name = "\(.*\)"/\1/p' "$1" | head -1; }
EX_PKG=$(pkg "exercises/$EX/Cargo.toml")
SUITE_PKG=$(pkg "grader/suites/$EX/Cargo.toml")
# A library exercise's subject is its host, which links the library.
SUBJECT_PKG="$EX_PKG"
[ -f "grader/suites/$EX/host/Cargo.toml" ] && SUBJECT_PKG=$(pkg "grader/suites/$EX/host/Cargo.toml")
MAIN="exercises/$EX/src/main.rs"
[ -f "$MAIN" ] || MAIN="exercises/$EX/src/lib.rs"
# Bare: what `cargo test` of the suite does, build then run, with no grader.
# The differential checks run the reference beside the subject: the bare run
# gets the reference binary the warm-up built, so both run the same checks.
REFERENCE="$CARGO_TARGET_DIR/debug/grade-$EX-reference"
bare() {
    cargo build -q -p "$SUBJECT_PKG" -p "$SUITE_PKG"
    GRADE_SUBJECT="$CARGO_TARGET_DIR/debug/$SUBJECT_PKG" GRADE_REFERENCE="$REFERENCE" \
        GRADE_REFERENCE_SRC="$PWD/solutions/$EX/src" \
        "$CARGO_TARGET_DIR/debug/$SUITE_PKG" >/dev/null || true
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "warming up (the first build compiles the dependencies)..."
cargo build -q -p grader
cargo grade "$EX" >/dev/null
bare

: >"$WORK/bare"; : >"$WORK/grade"; : >"$WORK/noedit"; : >"$WORK/fresh"
for i in $(seq 1 "$ROUNDS"); do
    echo "// bench edit bare $i" >>"$MAIN"
    t0=$(now)
    bare
    t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/bare"

    echo "// bench edit grade $i" >>"$MAIN"
    t0=$(now)
    cargo grade "$EX" >/dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/grade"

    t0=$(now)
    cargo grade "$EX" >/dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/noedit"

    t0=$(now)
    cargo grade "$EX" --fresh >/dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc >>"$WORK/fresh"
done

bare=$(median <"$WORK/bare"); grade=$(median <"$WORK/grade"); noedit=$(median <"$WORK/noedit"); fresh=$(median <"$WORK/fresh")
ratio=$(echo "scale=3; $grade / $bare" | bc)
printf '%s, rounds: %s (medians)\n' "$EX" "$ROUNDS"
printf 'bare build + suite after an edit:  %.3f s\n' "$bare"
printf 'cargo grade after an edit:         %.3f s\n' "$grade"
printf 'ratio grade / bare:                %.3f  (budget 1.25)\n' "$ratio"
printf 'cargo grade with no edit:          %.3f s  (budget 1.0 s)\n' "$noedit"
printf '  the same with --fresh (re-run):   %.3f s\n' "$fresh"
ok=1
(( $(echo "$ratio <= 1.25" | bc) )) || { echo "OVER BUDGET: ratio"; ok=0; }
(( $(echo "$noedit < 1.0" | bc) )) || { echo "OVER BUDGET: no-edit re-grade"; ok=0; }
[ "$ok" = 1 ] && echo "within budget"
