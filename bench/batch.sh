#!/usr/bin/env bash
# Grading a class: throughput of `cargo grade batch`, all in one run.
#
# usage: bench/batch.sh [EXERCISE] [N]          (default: 01-bind 100)
#        bench/batch.sh --fresh [EXERCISE] [N]  (default: 03-pool 3)
#
# The default mode builds a synthetic class of N submissions of EXERCISE
# (references, untouched stubs and the suite's known-wrong variants, mixed;
# each one different, so each is really compiled) and measures, in this
# kit with its warm target directory:
#   - first-submission cost: a batch of one submission;
#   - marginal cost per submission: (serial batch of N - first) / (N - 1);
#   - the speedup over the serial batch of `--jobs 2`, and of 2 shards run
#     as separate processes at once and then merged;
# and checks that the merged sharded gradebook and the --jobs 2 gradebook
# equal the serial one (rows, and every check's verdict in run.json).
#
# --fresh: N submissions graded as one batch against N separate fresh grades
# (each in its own fresh clone and target directory, as a CI job per student
# without a shared cache would do). Each compiles the dependencies: minutes.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/grade-batch-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export NO_COLOR=1
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

if [ "${1:-}" = "--fresh" ]; then
    EX="${2:-03-pool}"
    N="${3:-3}"
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
    separate=$(secs "$t0" "$(now)")
    echo "one batch of $N (compiles the dependencies once)..."
    git clone -q "$REPO" "$WORK/kit"
    t0=$(now)
    (cd "$WORK/kit" && CARGO_TARGET_DIR="$WORK/kit/target" \
        cargo grade batch --exercise "$EX" --out "$WORK/grades" "$WORK"/subs/student-*) || true
    batch=$(secs "$t0" "$(now)")
    cat "$WORK/grades/gradebook.csv"
    printf 'separate fresh grades: %.1f s\n' "$separate"
    printf 'one batch:             %.1f s\n' "$batch"
    printf 'ratio separate/batch:  %.2fx\n' "$(echo "scale=3; $separate / $batch" | bc)"
    exit 0
fi

EX="${1:-01-bind}"
N="${2:-100}"
[ "$N" -ge 2 ] || { echo "N must be at least 2" >&2; exit 2; }
cd "$REPO"
cargo build -q -p grader
SEED=20
# The class: every 2nd a reference, every 5th a stub, the rest the known-wrong
# variants in turn; a comment makes each submission's source unique.
python3 - "$REPO" "$EX" "$N" "$WORK/class" <<'PY'
import os, shutil, sys, tomllib
repo, ex, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(f"{repo}/grader/suites/{ex}/variants.toml", "rb") as f:
    variants = tomllib.load(f).get("variant", [])
kinds = {"reference": 0, "stub": 0, "variant": 0}
v = 0
for i in range(n):
    dst = f"{out}/s{i:03d}/exercises/{ex}/src"
    if i % 5 == 4:
        shutil.copytree(f"{repo}/exercises/{ex}/src", dst); kinds["stub"] += 1
    else:
        shutil.copytree(f"{repo}/solutions/{ex}/src", dst)
        if i % 2 == 1 and variants:
            var = variants[v % len(variants)]; v += 1
            for e in var.get("edit", []):
                p = os.path.join(dst, e["file"].removeprefix("src/"))
                text = open(p).read()
                if e["find"] in text:
                    open(p, "w").write(text.replace(e["find"], e["replace"], 1))
            kinds["variant"] += 1
        else:
            kinds["reference"] += 1
    first = sorted(f for f in os.listdir(dst) if f.endswith(".rs"))[0]
    with open(os.path.join(dst, first), "a") as f:
        f.write(f"\n// synthetic submission {i}\n")
print(f"class of {n} {ex} submissions: {kinds}")
PY
SUBS=("$WORK"/class/*)
batch() { cargo grade batch --exercise "$EX" --seed "$SEED" "$@" >/dev/null 2>&1 || [ $? -eq 1 ]; }

echo "first submission (a batch of one)..."
t0=$(now); batch --out "$WORK/one" "${SUBS[0]}"; first=$(secs "$t0" "$(now)")
echo "serial batch of $N..."
t0=$(now); batch --out "$WORK/serial" "${SUBS[@]}"; serial=$(secs "$t0" "$(now)")
echo "--jobs 2..."
t0=$(now); batch --jobs 2 --out "$WORK/jobs2" "${SUBS[@]}"; jobs2=$(secs "$t0" "$(now)")
echo "2 shards as separate processes, then merged..."
t0=$(now)
batch --shard 1/2 --out "$WORK/shard-1" "${SUBS[@]}" &
p1=$!
batch --shard 2/2 --out "$WORK/shard-2" "${SUBS[@]}" &
p2=$!
wait $p1 $p2
cargo grade gradebook merge "$WORK/shard-1" "$WORK/shard-2" --out "$WORK/merged" >/dev/null 2>&1 || [ $? -eq 1 ]
shards=$(secs "$t0" "$(now)")

same() {
    cmp -s "$WORK/serial/gradebook.csv" "$WORK/$1/gradebook.csv" && python3 - "$WORK/serial/run.json" "$WORK/$1/run.json" <<'PY'
import json, sys
def verdicts(p):
    return [(g["subject"], c["id"], c["status"], c["score"]) for g in json.load(open(p))["grades"] for c in g["checks"]]
sys.exit(0 if verdicts(sys.argv[1]) == verdicts(sys.argv[2]) else 1)
PY
}
verdict() { if same "$1"; then echo "equal to serial"; else echo "DIFFERS from serial"; fi; }

echo
echo "gradebook: $(tail -n +2 "$WORK/serial/gradebook.csv" | cut -d, -f5 | sort | uniq -c | tr '\n' ' ')"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| measure | time | per submission | speedup vs serial | gradebook |"
echo "|---|---|---|---|---|"
printf '| first submission (batch of 1) | %.1f s | | | |\n' "$first"
printf '| serial batch of %d | %.1f s | %.2f s marginal | 1.00x | reference |\n' "$N" "$serial" \
    "$(echo "scale=4; ($serial - $first) / ($N - 1)" | bc)"
printf '| --jobs 2 | %.1f s | %.2f s | %.2fx | %s |\n' "$jobs2" "$(echo "scale=4; $jobs2 / $N" | bc)" \
    "$(echo "scale=4; $serial / $jobs2" | bc)" "$(verdict jobs2)"
printf '| 2 shards (separate processes) + merge | %.1f s | %.2f s | %.2fx | %s |\n' "$shards" \
    "$(echo "scale=4; $shards / $N" | bc)" "$(echo "scale=4; $serial / $shards" | bc)" "$(verdict merged)"
same jobs2 && same merged
