#!/bin/sh
# The tuner plugins' semantics, pinned against Debian's Optuna (python3-optuna 3.1) on the same
# inputs (tests/tools/optuna_peer.py beside tests/tools/tune_run): TPE's split of the told
# trials, its Parzen estimators (weights, centres, bandwidths, densities), its startup trials,
# the median pruner's decisions on fixed curves; and that a saved tuner resumes exactly.
. "$(dirname "$0")/../tap.sh"

RUN=$B/tests/tools/tune_run
PEER=$SRC/tests/tools/optuna_peer.py
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # nothing written beside the system's modules
if ! "$PY" -c 'import optuna' 2>"$TMP/err"; then
	ok 1 "Debian's python3-optuna is installed (packaging/deps.sh test): $(tail -n 1 "$TMP/err")"
	done_testing
	exit 1
fi

# Two files of numbers agree to a relative 1e-9 (the text may differ in its last digits).
same_numbers() {
	"$PY" - "$1" "$2" <<'EOP'
import sys
a = [l.split() for l in open(sys.argv[1]) if not l.startswith("optuna_")]
b = [l.split() for l in open(sys.argv[2]) if not l.startswith("optuna_")]
def num(s):
    try:
        return float(s)
    except ValueError:
        return s
ok = len(a) == len(b) and len(a) > 0 and all(
    len(x) == len(y) and all(
        (abs(num(u) - num(v)) <= 1e-9 * max(1, abs(num(v)))) if isinstance(num(u), float) else u == v
        for u, v in zip(x, y)) for x, y in zip(a, b))
sys.exit(0 if ok else 1)
EOP
}

# ---- TPE's split: completed by loss, then pruned (deepest first), then running (liar)
printf 'complete 3\ncomplete 1\npruned 5 0.5\npruned 9 2\nrunning\ncomplete nan\npruned\ncomplete 1\ncomplete 0.2\npruned 9 0.1\ncomplete 7\n' >"$TMP/trials"
awk 'BEGIN { for (i = 0; i < 60; i++) print "complete", (i * 7919) % 101 / 10 }' >"$TMP/trials60"
for args in "min 0 0.1 25" "max 1 0.1 25" "min 1 0.5 3" "max 0 0.9 25"; do
	"$RUN" split $args <"$TMP/trials" >"$TMP/ours" 2>&1
	"$PY" "$PEER" split $args <"$TMP/trials" >"$TMP/theirs" 2>&1
	check "split ($args) of completed, pruned and running trials is Optuna's" cmp -s "$TMP/ours" "$TMP/theirs" ||
		diag "tars:" "$(cat "$TMP/ours")" "optuna:" "$(cat "$TMP/theirs")"
done
"$RUN" split min 0 0.1 25 <"$TMP/trials60" >"$TMP/ours"
"$PY" "$PEER" split min 0 0.1 25 <"$TMP/trials60" >"$TMP/theirs"
check "gamma(60) = ceil(0.1 * 60) = 6 trials below, as Optuna" sh -c \
	"cmp -s '$TMP/ours' '$TMP/theirs' && [ \$(head -n 1 '$TMP/ours' | wc -w) -eq 7 ]"
awk 'BEGIN { for (i = 0; i < 400; i++) print "complete", (i * 7919) % 1009 }' >"$TMP/trials400"
"$RUN" split min 0 0.1 25 <"$TMP/trials400" >"$TMP/ours"
"$PY" "$PEER" split min 0 0.1 25 <"$TMP/trials400" >"$TMP/theirs"
check "gamma(400) is capped at 25, as Optuna" sh -c \
	"cmp -s '$TMP/ours' '$TMP/theirs' && [ \$(head -n 1 '$TMP/ours' | wc -w) -eq 26 ]"

# ---- the Parzen estimators: one set of observations per dimension type
while read -r args; do
	"$RUN" parzen $args >"$TMP/ours" 2>&1
	"$PY" "$PEER" parzen $args >"$TMP/theirs" 2>&1
	check "Parzen estimator ($args): weights, centres, bandwidths and densities are Optuna's (and exact_density's)" \
		same_numbers "$TMP/ours" "$TMP/theirs" || diag "tars:" "$(cat "$TMP/ours")" "optuna:" "$(cat "$TMP/theirs")"
done <<'EOA'
float 0 10 0 1 2 8
float -5 10 0 3.3 3.1 3.2 -4.9 9.9 0.5 0.6 0.7 0.8 0.9 1 1.1 1.2 1.3 1.4 1.5 1.6 1.7 1.8 1.9 2 2.1 2.2 2.3 2.4 2.5 2.6 2.7 2.8
float 0 10 1 1 2 8 3
logfloat 0.001 1 0 0.01 0.5 0.02
int 1 5 0 2 3
int -3 40 0 -3 40 7 7 7 12
enum 3 0 0 2 1 0
enum 5 0 4
float 0 1 0
EOA

# ---- startup: the first n_startup_trials proposals ignore what they were told
"$RUN" sample "$PLUGINS/tuner-tpe.so" branin 14 3 | cut -d' ' -f2 >"$TMP/a"
"$RUN" sample "$PLUGINS/tuner-tpe.so" branin 14 3 flip=1 | cut -d' ' -f2 | sed 's/^-//' >"$TMP/b"
check "tpe: the first 10 proposals are the same whatever the values told" \
	cmp -s "$(head -n 10 "$TMP/a" >"$TMP/a10" && echo "$TMP/a10")" "$(head -n 10 "$TMP/b" >"$TMP/b10" && echo "$TMP/b10")"
check "  and the 11th on follow the values" sh -c "! cmp -s '$TMP/a' '$TMP/b'"
"$RUN" sample "$PLUGINS/tuner-tpe.so" branin 20 3 n_startup_trials=3 | cut -d' ' -f2 >"$TMP/c"
check "  n_startup_trials=3 takes over after 3" sh -c \
	"head -n 3 '$TMP/c' | cmp -s - '$TMP/a10' 2>/dev/null || [ \"\$(head -n 3 '$TMP/c')\" = \"\$(head -n 3 '$TMP/a')\" ]"
check "  and differs from the 4th" sh -c "[ \"\$(sed -n 4p '$TMP/c')\" != \"\$(sed -n 4p '$TMP/a')\" ]"

# ---- save/load: a tuner resumed from its blob proposes what the uninterrupted one does
for t in tpe random-search; do
	for opt in "" "multivariate=1" "constant_liar=1"; do
		[ "$t" = random-search ] && [ -n "$opt" ] && continue
		"$RUN" sample "$PLUGINS/tuner-$t.so" hartmann6 40 5 $opt | cut -d' ' -f1-3 >"$TMP/a"
		"$RUN" sample "$PLUGINS/tuner-$t.so" hartmann6 40 5 $opt resume-at=17 | cut -d' ' -f1-3 >"$TMP/b"
		check "$t $opt: saved after trial 17 and loaded, it proposes the same 40 trials" cmp -s "$TMP/a" "$TMP/b"
	done
done

# ---- the median pruner's decisions on fixed curves (a NaN in one), min and max, options
awk 'BEGIN { for (n = 0; n < 14; n++) { for (s = 0; s < 10; s++) {
	v = (n * 37 % 11) / 10 + 1 / (s + 1) + ((n * s) % 5) / 20; if (n == 9 && s == 3) v = "nan"
	print "report", n, s, v } if (n % 3 != 2) print "complete", n, v } }' >"$TMP/curves"
for args in "min" "max" "min n_startup_trials=2 n_warmup_steps=3 interval_steps=2" \
	"max n_startup_trials=1 percentile=25 n_min_trials=3" "min n_startup_trials=0 percentile=90"; do
	"$RUN" prune "$PLUGINS/tuner-median.so" $args <"$TMP/curves" >"$TMP/ours" 2>&1
	"$PY" "$PEER" prune $args <"$TMP/curves" >"$TMP/theirs" 2>&1
	n=$(grep -c prune "$TMP/ours")
	check "median ($args): the 140 decisions are Optuna's ($n prune)" sh -c \
		"cmp -s '$TMP/ours' '$TMP/theirs' && [ \$(wc -l <'$TMP/ours') -eq 140 ]" ||
		diag "$(diff "$TMP/ours" "$TMP/theirs" | head -n 10)"
done
check "  and the default one prunes some and keeps some" sh -c \
	"'$RUN' prune '$PLUGINS/tuner-median.so' min <'$TMP/curves' | grep -q prune &&
	 '$RUN' prune '$PLUGINS/tuner-median.so' min <'$TMP/curves' | grep -q keep"

# ---- save/load: a pruner resumed from its blob decides what the uninterrupted one does
"$RUN" prune "$PLUGINS/tuner-median.so" min <"$TMP/curves" >"$TMP/a"
"$RUN" prune "$PLUGINS/tuner-median.so" min resume-at=77 <"$TMP/curves" >"$TMP/b"
check "median: saved after 77 lines and loaded, its 140 decisions are the same" cmp -s "$TMP/a" "$TMP/b"

# ---- asha (Optuna's SuccessiveHalvingPruner): rungs, promotion, auto min_resource, NaN; a
# pruned trial is stopped (told PRUNED, its later reports dropped) as a study would
awk 'BEGIN { for (n = 0; n < 30; n++) { for (s = 0; s < 100; s++) {
	v = (n * 37 % 11) / 10 + 5 / (s + 1) + ((n * s) % 7) / 30; if (n == 13 && s == 9) v = "nan"
	print "report", n, s, v } print "complete", n, v } }' >"$TMP/acurves"
awk 'BEGIN { for (n = 0; n < 30; n++) { for (s = 0; s < 100; s++) {
	print "report", n, s, 3 - n / 10 + 5 / (s + 1) + ((n * s) % 7) / 30 } print "complete", n, 0 } }' >"$TMP/acurves2"
for c in acurves acurves2; do
	for args in "min" "max" "min min_resource=1" "min min_resource=2 reduction_factor=4 bootstrap_count=2" \
		"max min_resource=1 min_early_stopping_rate=1" "max min_resource=3 reduction_factor=2"; do
		"$RUN" prune "$PLUGINS/tuner-asha.so" $args stop-pruned=1 <"$TMP/$c" >"$TMP/ours" 2>&1
		"$PY" "$PEER" prune $args stop-pruned=1 pruner=asha <"$TMP/$c" >"$TMP/theirs" 2>&1
		n=$(grep -c prune "$TMP/ours")
		check "asha ($c, $args): every decision is Optuna's ($n of 30 pruned)" sh -c \
			"cmp -s '$TMP/ours' '$TMP/theirs' && [ -s '$TMP/ours' ]" ||
			diag "$(diff "$TMP/ours" "$TMP/theirs" | head -n 10)"
	done
done
"$RUN" prune "$PLUGINS/tuner-asha.so" min min_resource=1 stop-pruned=1 <"$TMP/acurves2" >"$TMP/a"
"$RUN" prune "$PLUGINS/tuner-asha.so" min min_resource=1 stop-pruned=1 resume-at=1500 <"$TMP/acurves2" >"$TMP/b"
check "asha: saved mid-study and loaded, its decisions are the same" sh -c "cmp -s '$TMP/a' '$TMP/b' && [ -s '$TMP/a' ]"

# ---- hyperband (Optuna's HyperbandPruner): brackets of successive halving, each trial's bracket
# chosen by CRC-32 as Optuna does, auto max_resource; 90 trials over the brackets
awk 'BEGIN { for (n = 0; n < 90; n++) { for (s = 0; s < 81; s++) {
	v = (n * 37 % 13) / 10 + 5 / (s + 1) + ((n * s) % 7) / 30
	print "report", n, s, v } print "complete", n, v } }' >"$TMP/hcurves"
for args in "min" "max" "min max_resource=81" "min min_resource=3 reduction_factor=2" \
	"max max_resource=81 bootstrap_count=1" "min min_resource=2 reduction_factor=4"; do
	"$RUN" prune "$PLUGINS/tuner-hyperband.so" $args stop-pruned=1 <"$TMP/hcurves" >"$TMP/ours" 2>&1
	"$PY" "$PEER" prune $args stop-pruned=1 pruner=hyperband <"$TMP/hcurves" >"$TMP/theirs" 2>&1
	n=$(grep -c prune "$TMP/ours")
	check "hyperband ($args): every decision is Optuna's ($n of 90 pruned)" sh -c \
		"cmp -s '$TMP/ours' '$TMP/theirs' && [ -s '$TMP/ours' ] && [ $n -gt 0 ]" ||
		diag "$(diff "$TMP/ours" "$TMP/theirs" | head -n 10)"
done
"$RUN" prune "$PLUGINS/tuner-hyperband.so" min stop-pruned=1 <"$TMP/hcurves" >"$TMP/a"
"$RUN" prune "$PLUGINS/tuner-hyperband.so" min stop-pruned=1 resume-at=3000 <"$TMP/hcurves" >"$TMP/b"
check "hyperband: saved mid-study and loaded, its decisions are the same" sh -c "cmp -s '$TMP/a' '$TMP/b' && [ -s '$TMP/a' ]"

# ---- nsga2 (Optuna's NSGAIISampler): the parents' population of each generation, by
# non-dominated rank and crowding distance, is Optuna's; with crossover_prob=0 and
# mutation_prob=0 every child copies one parent, so the children name the parents exactly
awk 'BEGIN { for (n = 0; n < 35; n++) print (n * 7) % 11, (n * 5) % 13 }' >"$TMP/ev"
awk 'BEGIN { for (n = 0; n < 230; n++) print (n * 37) % 101 / 10, ((n * 53) % 97) / 10 + (n % 3) }' >"$TMP/ev2"
for c in "ev min,min 10" "ev min,max 7" "ev max,max 10" "ev2 min,min 20" "ev2 max,min 30" "ev2 min,min 50"; do
	set -- $c
	"$RUN" elite "$PLUGINS/tuner-nsga2.so" "$2" 1500 population_size="$3" crossover_prob=0 \
		mutation_prob=0 <"$TMP/$1" >"$TMP/ours" 2>&1
	"$PY" "$PEER" elite "$2" 1500 population_size="$3" crossover_prob=0 mutation_prob=0 \
		<"$TMP/$1" >"$TMP/theirs" 2>&1
	check "nsga2 ($1, $2, population $3): the parents are Optuna's ($(wc -l <"$TMP/ours") of $(wc -l <"$TMP/$1"))" \
		sh -c "cmp -s '$TMP/ours' '$TMP/theirs' && [ \$(wc -l <'$TMP/ours') -eq $3 ]" ||
		diag "ours: $(tr '\n' ' ' <"$TMP/ours")" "theirs: $(tr '\n' ' ' <"$TMP/theirs")"
done
"$RUN" sample "$PLUGINS/tuner-nsga2.so" branin 10 5 population_size=10 | cut -d' ' -f2 >"$TMP/a"
"$RUN" sample "$PLUGINS/tuner-random-search.so" branin 10 5 | cut -d' ' -f2 >"$TMP/b"
check "nsga2: its first generation is random-search's draws" cmp -s "$TMP/a" "$TMP/b"
"$RUN" sample "$PLUGINS/tuner-nsga2.so" branin 150 3 population_size=12 | cut -d' ' -f1-3 >"$TMP/a"
"$RUN" sample "$PLUGINS/tuner-nsga2.so" branin 150 3 population_size=12 resume-at=70 | cut -d' ' -f1-3 >"$TMP/b"
check "nsga2: saved mid-study and loaded, it proposes the same 150 trials" sh -c "cmp -s '$TMP/a' '$TMP/b' && [ \$(wc -l <'$TMP/a') -eq 150 ]"

done_testing
