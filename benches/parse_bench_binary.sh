# Sourced by the cachegrind scripts beside it: checks for valgrind and sets
# `bench` to the parse benchmark's binary (built if needed).
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
bench=$(cargo bench --bench parse --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -x "$bench" ] || { echo "could not find the parse bench binary" >&2; exit 1; }
