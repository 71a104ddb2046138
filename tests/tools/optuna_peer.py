#!/usr/bin/python3
"""Debian's Optuna (python3-optuna) on the inputs tune_run takes, printing what tune_run prints.

  optuna_peer.py sample tpe|random FUNCTION TRIALS SEED   -> "N VALUE BEST CPU_US" per trial
  optuna_peer.py prune min|max [name=value...] < commands -> "N STEP prune|keep" per report
  optuna_peer.py propose DIMS K < trials                  -> as tune_run propose, with TPESampler
  optuna_peer.py split min|max LIAR FRACTION MAX < trials -> TPE's below and above trials
  optuna_peer.py parzen TYPE LOW HIGH MULTIVARIATE OBS... -> the estimator, as tune_run prints it

Used by tests/integration/tuners.sh (semantics) and tests/bench/tuners.sh (quality, overhead).
"""
import math
import sys
import time
import warnings

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore")


def branin(x):
    a, b, c, r, s, t = 1, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


AL = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
     [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(x):
    return -sum(AL[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6)))
                for i in range(4))


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(9))


def sphere(x):
    return sum((v - 1) ** 2 for v in x)


FUNCS = {"sphere10": (sphere, [(-5, 10)] * 10),"branin": (branin, [(-5, 10), (0, 15)]), "hartmann6": (hartmann6, [(0, 1)] * 6),
         "rosenbrock10": (rosenbrock, [(-5, 10)] * 10)}


def sample(kind, fname, trials, seed):
    f, bounds = FUNCS[fname]
    sampler = (optuna.samplers.TPESampler(seed=seed) if kind == "tpe"
               else optuna.samplers.RandomSampler(seed=seed))
    study = optuna.create_study(sampler=sampler)
    dists = {f"x{j}": FloatDistribution(lo, hi) for j, (lo, hi) in enumerate(bounds)}
    best = math.inf
    for n in range(trials):
        c0 = time.thread_time()
        trial = study.ask(dists)
        x = [trial.params[f"x{j}"] for j in range(len(bounds))]
        c1 = time.thread_time()
        v = f(x)
        c2 = time.thread_time()
        study.tell(trial, v)
        c3 = time.thread_time()
        best = min(best, v)
        print(n, repr(v), repr(best), "%.1f" % (((c1 - c0) + (c3 - c2)) * 1e6))


def prune(direction, opts):
    kw = {k: (float(v) if k == "percentile" else v if k == "pruner" else int(v)) for k, v in opts}
    which = kw.pop("pruner", "median")
    stop = kw.pop("stop-pruned", 0) == 1
    if which == "asha":
        # tars's default reduction_factor is 3 (Optuna's 4); min_resource 0 is "auto".
        mr = kw.pop("min_resource", 0)
        kw.setdefault("reduction_factor", 3)
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource="auto" if mr == 0 else mr,
                                                        **kw)
    elif which == "hyperband":
        # max_resource 0 is "auto"; tars hashes the pruner's seed (0 here) where Optuna
        # hashes the study's name, so the study is named "0".
        mr = kw.pop("max_resource", 0)
        pruner = optuna.pruners.HyperbandPruner(max_resource="auto" if mr == 0 else mr, **kw)
    else:
        pct = kw.pop("percentile", 50.0)
        pruner = optuna.pruners.PercentilePruner(pct, **kw)
    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize",
                                pruner=pruner, study_name="0")
    trials, pruned = {}, set()
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        n = int(w[1])
        if stop and n in pruned:
            continue
        if n not in trials:
            trials[n] = study.ask()
        if w[0] == "report":
            step, v = int(w[2]), float(w[3])
            trials[n].report(v, step)
            pr = trials[n].should_prune()
            print(n, step, "prune" if pr else "keep")
            if pr and stop:
                pruned.add(n)
                study.tell(trials[n], state=optuna.trial.TrialState.PRUNED)
        elif w[0] == "complete":
            study.tell(trials[n], float(w[2]))


def elite(dirs, k, opts):
    """NSGA-II's parents: trials told the values on stdin, then K children asked (copies of
    one parent each, with crossover_prob=0 and mutation_prob=0): their parents' numbers."""
    kw = {key: (int(v) if key == "population_size" else float(v)) for key, v in opts}
    sampler = optuna.samplers.NSGAIISampler(seed=0, **kw)
    study = optuna.create_study(directions=["maximize" if d == "max" else "minimize"
                                            for d in dirs.split(",")], sampler=sampler)
    dist = {"x": FloatDistribution(0, 1)}
    xs = []
    for line in sys.stdin:
        w = line.split()
        if len(w) != 2:
            break
        study.enqueue_trial({"x": len(xs) / 100000})
        t = study.ask(dist)
        xs.append(t.params["x"])
        study.tell(t, [float(w[0]), float(w[1])])
    seen = set()
    for _ in range(k):
        t = study.ask(dist)
        seen.update(j for j, x in enumerate(xs) if x == t.params["x"])
    for j in sorted(seen):
        print(j)


def propose(dims, k):
    """K fresh TPE samplers (seeds 0..K-1) told the trials on stdin, each asked once."""
    from optuna.trial import create_trial
    hist = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
    dist = {f"x{j}": FloatDistribution(-5, 10) for j in range(dims)}
    for s in range(k):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=s))
        for h in hist:
            study.add_trial(create_trial(value=h[0], params={f"x{j}": h[j + 1] for j in range(dims)},
                                         distributions=dist))
        t = study.ask(dist)
        print(" ".join(repr(t.params[f"x{j}"]) for j in range(dims)))


def split(direction, liar, fraction, gmax):
    from optuna.samplers._tpe.sampler import _get_observation_pairs, _split_observation_pairs
    from optuna.trial import TrialState, create_trial
    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize")
    dist = {"x": FloatDistribution(0, 1)}
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        if w[0] == "complete":
            study.add_trial(create_trial(value=float(w[1]), params={"x": 0.5}, distributions=dist))
        elif w[0] == "pruned":
            iv = {int(w[1]): float(w[2])} if len(w) == 3 else {}
            study.add_trial(create_trial(state=TrialState.PRUNED, params={"x": 0.5},
                                         distributions=dist, intermediate_values=iv))
        elif w[0] == "running":
            study.ask(dist)
    _, scores, _ = _get_observation_pairs(study, ["x"], liar == "1", False)
    n = sum(s < float("inf") for s, v in scores)
    gamma = min(int(np.ceil(float(fraction) * n)), int(gmax))
    below, above = _split_observation_pairs(scores, gamma, None)
    # Indices into the observations, which are the trials in number order: map back.
    states = (TrialState.COMPLETE, TrialState.PRUNED) + ((TrialState.RUNNING,) if liar == "1" else ())
    numbers = [t.number for t in study.get_trials(deepcopy=False, states=states)]
    print("below" + "".join(" %d" % numbers[i] for i in below))
    print("above" + "".join(" %d" % numbers[i] for i in above))


def parzen(args):
    kind = args[0]
    params = _ParzenEstimatorParameters(True, 1.0, True, False, default_weights,
                                        kind != "enum" and args[3] == "1")
    if kind == "enum":
        n = int(args[1])
        dist = CategoricalDistribution(list(range(n)))
        obs = np.asarray([int(v) for v in args[3:]], dtype=float)
    else:
        lo, hi = float(args[1]), float(args[2])
        dist = (IntDistribution(int(lo), int(hi)) if kind == "int"
                else FloatDistribution(lo, hi, log=kind == "logfloat"))
        obs = np.asarray([float(v) for v in args[4:]], dtype=float)
    pe = _ParzenEstimator({"x": obs}, {"x": dist}, params)
    for k, w in enumerate(pe._weights):
        if kind == "enum":
            print("%.12g" % w, " ".join("%.12g" % p for p in pe._categorical_weights["x"][k]))
        else:
            print("%.12g %.12g %.12g" % (w, pe._mus["x"][k], pe._sigmas["x"][k]))
    for i in range(5):
        if kind == "enum":
            x = i % n
        else:
            low, high = pe._low["x"], pe._high["x"]
            x = low + (high - low) * (0.05 + 0.21 * i)
            if kind == "int":
                x = round(x)
            if kind == "logfloat":
                x = math.exp(x)
        opt = pe.log_pdf({"x": np.asarray([x])})[0]
        print("logpdf %.12g %.12g" % (x, opt))
        print("exact_logpdf %.12g %.12g" % (x, density(pe, kind, x) if kind in ("float", "logfloat") else opt))


def density(pe, kind, x):
    """The mixture's log density from Optuna's own kernels with each kernel's 1/sigma, which
    Optuna 3.1's _truncnorm.logpdf leaves out (tpe's exact_density: docs/studies.md)."""
    from optuna.samplers._tpe import _truncnorm as tn
    u = math.log(x) if kind == "logfloat" else x
    mus, sig, w = pe._mus["x"], pe._sigmas["x"], pe._weights
    low, high = pe._low["x"], pe._high["x"]
    comp = (np.log(w) - 0.5 * ((u - mus) / sig) ** 2 - 0.5 * math.log(2 * math.pi) - np.log(sig)
            - tn._log_gauss_mass((low - mus) / sig, (high - mus) / sig))
    m = comp.max()
    return m + math.log(np.exp(comp - m).sum())


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "sample":
        sample(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "prune":
        prune(sys.argv[2], [a.split("=", 1) for a in sys.argv[3:]])
    elif mode == "propose":
        propose(int(sys.argv[2]), int(sys.argv[3]))
    elif mode == "split":
        split(*sys.argv[2:6])
    elif mode == "parzen":
        parzen(sys.argv[2:])
    elif mode == "elite":
        elite(sys.argv[2], int(sys.argv[3]), [a.split("=", 1) for a in sys.argv[4:]])
    else:
        sys.exit("optuna_peer.py: unknown mode " + mode)
