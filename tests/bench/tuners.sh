#!/bin/sh
# Tuners against Debian's Optuna 3.1 (python3-optuna), in the same run, on the same functions:
#  - quality: Branin (2-D), Hartmann-6 and Rosenbrock-10 on [-5, 10]^10, minimised, seeds
#    SEEDS (0-9), the median over seeds of the best value after 50 / 100 / 200 trials, for
#    tars's tpe and random-search and Optuna's TPESampler and RandomSampler;
#  - overhead: the CPU of ask + tell + bookkeeping per trial (not the objective), the median
#    over trials 90-109 and 990-1009 of a 1,010-trial Rosenbrock-10 run.
# Prints the figures and the ratios. Asserts nothing.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${TARS_BUILD:-$SRC/build}
RUN=$B/tests/tools/tune_run
PEER=$SRC/tests/tools/optuna_peer.py
PL=$B/lib/tars/plugins
SEEDS=${SEEDS:-0 1 2 3 4 5 6 7 8 9}
if ! /usr/bin/python3 -c 'import optuna' 2>/dev/null; then
	echo "== tuners: Debian's python3-optuna is missing (packaging/deps.sh bench installs it); skipped"
	exit 0
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tars-bench-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

echo "== tuners: quality, median over seeds $SEEDS of the best value found (smaller is better)"
for f in branin hartmann6 rosenbrock10; do
	for s in $SEEDS; do
		"$RUN" sample "$PL/tuner-tpe.so" $f 200 "$s" >"$TMP/tars-tpe-$f-$s" &
		"$RUN" sample "$PL/tuner-random-search.so" $f 200 "$s" >"$TMP/tars-random-$f-$s"
		/usr/bin/python3 -B "$PEER" sample tpe $f 200 "$s" >"$TMP/optuna-tpe-$f-$s"
		/usr/bin/python3 -B "$PEER" sample random $f 200 "$s" >"$TMP/optuna-random-$f-$s"
		wait
	done
done
/usr/bin/python3 - "$TMP" "$SEEDS" <<'EOP'
import statistics, sys
tmp, seeds = sys.argv[1], sys.argv[2].split()
def best(path, n):
    return float(open(path).read().splitlines()[n - 1].split()[2])
print("%-13s %6s %12s %12s %8s %12s %12s" % ("function", "trials", "tars tpe", "optuna tpe",
      "tpe ok", "tars random", "optuna rand"))
for f in ("branin", "hartmann6", "rosenbrock10"):
    for n in (50, 100, 200):
        m = {k: statistics.median(best(f"{tmp}/{k}-{f}-{s}", n) for s in seeds)
             for k in ("tars-tpe", "optuna-tpe", "tars-random", "optuna-random")}
        print("%-13s %6d %12.4g %12.4g %8s %12.4g %12.4g" % (f, n, m["tars-tpe"], m["optuna-tpe"],
              "yes" if m["tars-tpe"] <= m["optuna-tpe"] else "NO", m["tars-random"],
              m["optuna-random"]))
EOP

echo "== tuners: CPU per trial (ask + tell + bookkeeping), microseconds, median of 20 trials"
"$RUN" sample "$PL/tuner-tpe.so" rosenbrock10 1010 0 >"$TMP/o-tars-tpe"
"$RUN" sample "$PL/tuner-tpe.so" rosenbrock10 1010 0 multivariate=1 >"$TMP/o-tars-tpe-mv"
"$RUN" sample "$PL/tuner-random-search.so" rosenbrock10 1010 0 >"$TMP/o-tars-random"
/usr/bin/python3 -B "$PEER" sample tpe rosenbrock10 1010 0 >"$TMP/o-optuna-tpe"
/usr/bin/python3 -B "$PEER" sample random rosenbrock10 1010 0 >"$TMP/o-optuna-random"
/usr/bin/python3 - "$TMP" <<'EOP'
import statistics, sys
tmp = sys.argv[1]
def cpu(k, lo):
    rows = open(f"{tmp}/o-{k}").read().splitlines()[lo:lo + 20]
    return statistics.median(float(r.split()[3]) for r in rows)
print("%-22s %12s %12s" % ("sampler", "at 100", "at 1000"))
for k in ("tars-tpe", "tars-tpe-mv", "optuna-tpe", "tars-random", "optuna-random"):
    print("%-22s %12.0f %12.0f" % (k, cpu(k, 90), cpu(k, 990)))
print("optuna tpe / tars tpe: %.0fx at 100, %.0fx at 1000" % (
    cpu("optuna-tpe", 90) / cpu("tars-tpe", 90), cpu("optuna-tpe", 990) / cpu("tars-tpe", 990)))
EOP
