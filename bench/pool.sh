#!/usr/bin/env bash
# The reference pool of exercise 03 against deadpool, same database and workload, one run.
exec cargo run --release --quiet -p pool-bench "$@"
