"""FSSD's defaults for images and sequences, chosen on data no reported column holds.

    python -m benchmarks fssd-defaults            # four sets (about 25 min with cached nets)
    python -m benchmarks fssd-defaults --quick    # small subsets, 1 epoch (a few minutes)

What ``FSSDDetector(combine="auto")`` does on images and sequences is chosen here, by the mean
AUROC over the OoD kinds of four in-distribution sets (then the mean over the sets), never on
one case, and never on the samples a reported benchmark tests: each image case trains its own
LeNet (the paper's recipe, fewer epochs) on part of a training set and tests on
*training-set* images the network never saw, while ``benchmarks/fmnist_mnist.py`` reports on
the test sets; the genome cases test on the genome benchmark's *validation* fragments, while
that benchmark reports on its test fragments (other regions of each genome).

Cases (in-distribution / OoD kinds):

- **Fashion-MNIST**: LeNet on 50,000 Fashion-MNIST training images; in-distribution test
  images from the other 10,000. OoD: MNIST *training* digits, notMNIST letters A-E (the
  Fashion-MNIST benchmark reports MNIST test digits and letters F-J), and the five image
  kinds of :func:`benchmarks.ood_kinds.image_kinds` (uniform and Gaussian noise, far out,
  corrupted by noise and by blur) made from held-out training images.
- **MNIST**: the same with MNIST in distribution; OoD: Fashion-MNIST training images,
  notMNIST letters A-E and the five image kinds.
- **MNIST digits 0-4**: LeNet on the digits 0-4 of 40,000 MNIST training images; OoD: the
  held-out digits 5-9 (classes the network never saw, the most common real OoD) of the other
  20,000, and the five image kinds.
- **genome** (DNA fragments, ``--no-genome`` leaves it out): the BiLSTMs of
  ``benchmarks/genome.py`` for each of ``--genome-seeds`` (default 0, 1 and 2: the three the
  genome benchmark reports; from its cache, or trained as that benchmark trains them) on 10
  bacterial species, one case per network, each on its seed's draw of fragments;
  in-distribution test fragments and the 5 held-out species (the OoD kinds)
  are halves of that benchmark's validation fragments (the other halves are the case's
  validation samples), so none of its test fragments takes part. The networks' cases count as
  one set, the genome set, whose figure is their mean: with one network, that network's
  figures alone decided between two rules. Fragments are drawn at random positions of the
  same genome regions, so a test fragment that shares a 24-mer (on either strand) with a
  validation fragment is dropped. OoD samples are few here (100 validation and fewer than 100
  test fragments per species, ``sizes`` in the results), so these cases' figures are the
  noisiest. Its uniform noise is **random sequences**, bases drawn uniformly.

Rules measured, every one fitted on ``n_fit`` training samples with epsilon 0 (nothing tuned):

- without OoD data (the protocol's first setting): FSSD with ``combine`` = ``class_typical``,
  ``typical``, ``stack`` (synthetic outliers), ``mean``, and ``class_typical`` as it was before
  the network's class probabilities weighted the classes (:class:`ArgmaxClassTypical`, the most
  probable class's Gaussian alone), ``class_typical`` on one distance per channel
  (``distances="channel"``, :data:`CHANNEL_RULE`), and the two guarded stacks fitted against
  synthetic outliers (:data:`NO_OOD_STACKS`); MSP, Energy and Mahalanobis (class Gaussians on
  the same images with their classes) for reference;
- with OoD data of one kind (the protocol's second setting, each column tuned on another
  kind): the paper's plain stack (``combine="stack", far_outliers=False``, on the paper's
  layers where the network has them: ``LeNet.paper_layers``), the stack with far
  synthetic outliers and squared terms (``"stack"``), the stack guarded by the rule
  without OoD data (``"guarded_stack"``) and that rule with its layers' atypicality weighted
  non-negatively on the OoD kind, guarded the same way (``"typical_stack"``), that stack on one
  distance per channel, with the share of
  uniform noise and far-out inputs each flags at its own threshold, and the gap between the
  best of them and the best rule without OoD data on the kinds the stacks never saw; in the
  genome case also each stack fitted on random sequences themselves (the paper's same-kind
  setting), which bounds how many of them a stack over the BiLSTM's layers can flag, and
  classifiers fitted on FSSD's distances per channel of the random sequences themselves
  (:func:`noise_bound`), the ceiling of what those distances hold;
- the noise behind ``F*`` on the genome cases: class_typical per channel (the rule and distances
  sequence models default to) without OoD data with its tokens drawn uniformly over the
  vocabulary (the default) and with the in-distribution tokens' frequencies
  (:class:`FrequencyTokenNoise`, the noise before);
- LeNet's layers (:data:`LENET_LAYER_SETS`): the rules of :data:`LAYER_SET_RULES`
  (class_typical, typical, the two guarded stacks, and class_typical and the typical stack per
  channel) on the paper's four layers and on every stage of the forward pass, on the image
  cases; the BiLSTM's (:data:`GENOME_LAYER_SETS`), the same rules without and with its pooled
  sequence features, on the genome cases;
- one distance per layer or per channel (``distances``), chosen per family of cases (the image
  cases, the genome cases) in each setting from the rows that measure both
  (:data:`DISTANCE_ROWS`); every FSSD row that names no distances reads one per layer,
  whatever ``distances="auto"`` would take, so each row measures what it names;
- every choice above made again with one set or one OoD kind left out in turn
  (:func:`leave_one_out`): the Fashion-MNIST and genome sets hold the kinds those benchmarks
  report (on other samples), so the table shows whether one of them decided a choice.
"""

import time
from operator import itemgetter
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks import _ood as ood
from benchmarks._ood import CACHE
from benchmarks import protocol
from benchmarks._ood import command, fmt
from benchmarks._provenance import provenance, provenance_line
from benchmarks.protocol import Kind, Method
from sklearn_fssd import FSSDDetector
from sklearn_fssd.models import LeNet


NO_OOD_RULES = ["class_typical", "typical", "stack", "mean"]
#: The guarded stacks without OoD data (fitted against synthetic outliers, as ``"stack"`` is):
#: candidates for the rule without OoD data too
NO_OOD_STACKS = ["FSSD guarded stack", "FSSD typical stack"]
#: ``class_typical`` with the most probable class alone, the rule before the weighting
ARGMAX_RULE = "FSSD class_typical (argmax class)"
#: ``class_typical`` on one distance per channel (``distances="channel"``)
CHANNEL_RULE = "FSSD class_typical per channel"
#: The FSSD rules without OoD data among which the default is chosen
NO_OOD_FSSD = [f"FSSD {r}" for r in NO_OOD_RULES] + [ARGMAX_RULE, CHANNEL_RULE, *NO_OOD_STACKS]
#: The kinds on which a stack tuned on real OoD data must keep the method's premise: noise
#: (images: uniform pixels; sequences: uniform bases) and inputs far outside the training range.
NOISE_KINDS = ("uniform noise", "random sequences", "far out")
PAPER_STACK = "FSSD paper's plain stack"  # on the paper's layers (LeNet.paper_layers)
STACKS = {
    PAPER_STACK: {"combine": "stack", "far_outliers": False},
    "FSSD stack (far outliers, squares)": {"combine": "stack"},
    "FSSD guarded stack": {"combine": "guarded_stack"},
    "FSSD typical stack": {"combine": "typical_stack"},
    "FSSD typical stack per channel": {"combine": "typical_stack", "distances": "channel"},
}
#: One distance per layer or per channel (``distances``): setting -> the row measuring each;
#: chosen per family of cases (:func:`family_of`), since a network's channels differ in kind
#: between a LeNet's feature maps and a BiLSTM's sequence features.
DISTANCE_ROWS = {"no_ood": {"layer": "FSSD class_typical", "channel": CHANNEL_RULE},
                 "other_kind": {"layer": "FSSD typical stack",
                                "channel": "FSSD typical stack per channel"}}
SETTING_WORDS = {"no_ood": "without OoD data", "other_kind": "tuned on one other kind"}


def distances_choice(family, setting):
    """The name of the choice between one distance per layer and per channel of ``family``'s
    cases in ``setting`` (:func:`choices`, :func:`leave_one_out`)."""
    return f"distances of {family} cases, {SETTING_WORDS[setting]}"

#: The BiLSTMs of the genome set: the seeds the genome benchmark reports.
GENOME_SEEDS = (0, 1, 2)
#: The set a case belongs to: each genome network is a case of the one genome set.
GENOME_SET = "genome"


def set_of(case):
    """The in-distribution set of a case: ``"genome"`` for every genome network's case."""
    return GENOME_SET if case == GENOME_SET or case.startswith(f"{GENOME_SET}, ") else case


def genome_case_name(seed, seeds):
    """``"genome"`` for a single network, else ``"genome, BiLSTM seed <seed>"``."""
    return GENOME_SET if len(seeds) == 1 else f"{GENOME_SET}, BiLSTM seed {seed}"


#: The LeNet layers tapped, measured on the image cases: the paper's four (each convolution and
#: fully connected layer) and every stage of the forward pass (each of those, each ReLU after
#: it and the max-pooling), which reads the same network at both sides of each non-linearity.
LENET_LAYER_SETS = {
    "paper's 4 layers": list(LeNet.paper_layers),
    "every stage (8)": ["conv1", "relu1", "conv2", "relu2", "pool", "fc1", "relu3", "fc2"],
}
#: The BiLSTM layers tapped, measured on the genome cases: its stages without ``pool`` (the
#: default since ea1e930) and with it, the max over the sequence of ``lstm2``'s outputs (the
#: features ``fc`` reads).
GENOME_LAYER_SETS = {
    "every stage but pool (5)": ["embedding", "conv", "lstm1", "lstm2", "fc"],
    "every stage (6)": ["embedding", "conv", "lstm1", "lstm2", "pool", "fc"],
}
#: family of cases -> (its network, the layer sets measured on it)
LAYER_SET_FAMILIES = {"image": ("LeNet", LENET_LAYER_SETS), "genome": ("BiLSTM", GENOME_LAYER_SETS)}


def family_of(case):
    """``"genome"`` for the genome networks' cases, ``"image"`` for the others."""
    return GENOME_SET if set_of(case) == GENOME_SET else "image"


def cases_of(results, family):
    """The cases of ``results`` in ``family`` (:func:`family_of`), in their order."""
    return [c for c in results if family_of(c) == family]


#: The rules measured with each layer set (``combine``, or a stack's parameters).
LAYER_SET_RULES = {"class_typical": {"combine": "class_typical"},
                   "typical": {"combine": "typical"},
                   "guarded stack": STACKS["FSSD guarded stack"],
                   "typical stack": STACKS["FSSD typical stack"],
                   "class_typical per channel": {"combine": "class_typical",
                                                 "distances": "channel"},
                   "typical stack per channel": STACKS["FSSD typical stack per channel"]}


def layer_set_setting(rule):
    """The setting a rule of :data:`LAYER_SET_RULES` is measured in: the stacks tuned on one
    other kind, the other rules without OoD data."""
    return "other_kind" if "stack" in rule else "no_ood"


class ArgmaxClassTypical(FSSDDetector):
    """``combine="class_typical"`` as it was before the network's class probabilities weighted
    the classes: each input is compared with the Gaussian of its most probable class alone.
    Measured beside the weighted rule to record that choice."""

    def _split_columns(self, columns):
        distances, probabilities = super()._split_columns(columns)
        return distances, None if probabilities is None else probabilities.argmax(axis=1)


#: ``class_typical`` on one distance per channel (the sequences' default distances) with ``F*``
#: from token ids drawn with the in-distribution tokens' frequencies, the default noise until
#: 12a17de made it uniform token ids (sequence cases only)
FREQUENCY_TOKENS_RULE = "FSSD class_typical per channel (in-distribution token frequencies)"
#: The noises behind ``F*`` compared on the sequence cases: name -> the row measured with it,
#: the default first; both read the distances sequence models default to, one per channel
TOKEN_NOISES = {"uniform token ids": CHANNEL_RULE,
                "in-distribution token frequencies": FREQUENCY_TOKENS_RULE}


class FrequencyTokenNoise(FSSDDetector):
    """``F*`` from random sequences whose tokens are drawn with the in-distribution tokens'
    frequencies (``noise_tokens_``), the default until 12a17de made the noise uniform token
    ids: DNA's unknown base ``N``, which the training fragments never hold, never enters
    ``F*``. Measured beside the default noise to record that choice."""

    def _singularity_noise(self, low, high, generator, token_frequencies=None):
        return super()._singularity_noise(low, high, generator, self.noise_tokens_)


class ChannelDistances(FSSDDetector):
    """FSSD whose distances, one per channel of each tapped layer (the columns every
    combination of ``distances="channel"`` reads), can be read as they are."""

    def channel_distances(self, X):
        return self._columns(self._validate_X(X, reset=False), classes=False)


#: Classifiers fitted on FSSD's distances against the random sequences themselves
#: (:func:`noise_bound`), a linear one and a flexible one: name -> ``make(seed)``
BOUND_CLASSIFIERS = {
    "logistic regression": lambda seed: make_pipeline(StandardScaler(),
                                                      LogisticRegression(max_iter=5000)),
    "gradient-boosted trees": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}


def noise_bound(case, net, rows, seed, kind="random sequences"):
    """How many of ``kind`` any function of FSSD's distances can flag on this network: each of
    :data:`BOUND_CLASSIFIERS` fitted on the distances, one per channel of every tapped layer, of
    the training samples ``rows`` (+1) against the validation samples of ``kind`` itself (-1),
    scored on the test samples. Per classifier its metrics (:func:`benchmarks._ood.report`) and
    ``flagged``, the share of ``kind``'s test samples below the score that keeps 95 % of the
    in-distribution test samples (100 minus FPR95). Not a rule FSSD offers: a classifier
    trained on the very kind it is tested on, the ceiling of what the distances hold."""
    det = ChannelDistances(net, random_state=seed, combine="class_typical", distances="channel")
    det.fit(case.X_train[rows])
    noise = case.kinds[kind]
    fit = np.vstack([det.channel_distances(case.X_train[rows]), det.channel_distances(noise.val)])
    labels = np.r_[np.ones(len(rows), int), np.zeros(len(noise.val), int)]
    test_id, test_ood = det.channel_distances(case.X_test), det.channel_distances(noise.test)
    out = {"kind": kind, "columns": int(fit.shape[1])}
    for name, make in BOUND_CLASSIFIERS.items():
        clf = make(seed).fit(fit, labels)
        row = ood.report(clf.decision_function(test_id), clf.decision_function(test_ood))
        out[name] = {**row, "flagged": 100.0 - row["fpr_at_95_tpr"]}
    return out


def config(quick, epochs=None):
    if quick:
        cfg = dict(n_train=3000, n_train_digits=3000, epochs=1, n_fit=500, n_val=60,
                   n_test=150, n_fit_genome=300)
    else:
        cfg = dict(n_train=50_000, n_train_digits=40_000, epochs=3, n_fit=5000, n_val=500,
                   n_test=2000, n_fit_genome=2000)
    cfg["quick"] = quick
    if epochs is not None:
        cfg["epochs"] = epochs
    return cfg


def fit_rows(n_train, n_fit, seed):
    """The training samples every detector of a case fits on: the first ``n_fit`` of a
    permutation of its ``n_train`` by ``seed`` (the same in every call)."""
    return np.random.RandomState(seed).permutation(n_train)[:n_fit]


def _split(n, n_train, rng):
    """Shuffled indices of a training set: the network's ``n_train``, and the rest."""
    order = rng.permutation(n)
    return order[:n_train], order[n_train:]


def cases(cfg, seed):
    """name -> (Case, the classes the network learns, the case's seed)."""
    from benchmarks.ood_kinds import image_kinds
    from sklearn_fssd.datasets import load_fashion_mnist, load_mnist, load_notmnist

    X_f, y_f = load_fashion_mnist("train", as_float=True)
    X_m, y_m = load_mnist("train", as_float=True)
    X_n, y_n = load_notmnist(as_float=True)
    letters = X_n[y_n <= 4]  # A-E: the Fashion-MNIST benchmark reports F-J
    n_val, n_test = cfg["n_val"], cfg["n_test"]
    made = {}

    def case(name, X, y, keep_id, ood, keep_train=None, n_train=cfg["n_train"]):
        rng = np.random.RandomState(seed)
        train, rest = _split(len(X), n_train, rng)
        if keep_train is not None:
            train = train[keep_train(y[train])]
        rest_id = rest[keep_id(y[rest])]
        rest_other = rest[~keep_id(y[rest])]
        val, test = rest_id[:n_val], rest_id[n_val:n_val + n_test]
        source = rest_id[n_val + n_test:]
        kinds = {k: Kind.draw(v[protocol.unique_rows(v, exclude=[X[train]])], n_val, n_test,
                              rng, note=note)
                 for k, (v, note) in ood(X[rest_other]).items()}
        kinds.update(image_kinds(X[source], n_val, n_test, rng))
        made[name] = protocol.Case(name, X[train], y[train], X[val], y[val], X[test], kinds,
                                   y_test=y[test], same_kind=[next(iter(kinds))])

    everything = lambda y: np.ones(len(y), bool)  # noqa: E731
    case("Fashion-MNIST", X_f, y_f, everything, lambda _: {
        "MNIST (training digits)": (X_m, "MNIST training digits"),
        "notMNIST A-E": (letters, "notMNIST letters A-E")})
    case("MNIST", X_m, y_m, everything, lambda _: {
        "Fashion-MNIST (training images)": (X_f, "Fashion-MNIST training images"),
        "notMNIST A-E": (letters, "notMNIST letters A-E")})
    case("MNIST digits 0-4", X_m, y_m, lambda y: y <= 4, lambda other: {
        "held-out digits 5-9": (other, "MNIST digits 5-9, held out from training")},
        keep_train=lambda y: y <= 4, n_train=cfg["n_train_digits"])
    return made


def genome_case(cfg, seed, cache, log):
    """``(Case, network)``: the genome benchmark's BiLSTM, and halves of its validation
    fragments as this case's validation and test samples (its test fragments stay out)."""
    from benchmarks import genome

    gcfg = genome.config(cfg["quick"])
    full, _, _ = genome.load_case(gcfg, seed, cache)
    net = genome.network(full, gcfg, seed, cache, log)
    rng = np.random.RandomState(seed)

    def halves(X):
        """Shuffled halves of ``X``; test rows that share DNA with a validation row dropped."""
        order = rng.permutation(len(X))
        val, test = order[: len(X) // 2], order[len(X) // 2:]
        return val, test[~genome.overlapping(X[test], X[val])]

    val, test = halves(full.X_val)
    kinds = {}
    for name, kind in full.kinds.items():
        a, b = halves(kind.val)
        kinds[name] = Kind(kind.val[a], kind.val[b], family=kind.family,
                           note=f"{kind.note}; validation fragments of the genome benchmark")
    # the sequences' uniform noise: bases drawn uniformly (FSSD's singularity is made of bases in
    # the training fragments' proportions, about a quarter each)
    n = len(full.X_val) // 2
    kinds["random sequences"] = Kind.draw(rng.randint(0, 4, (2 * n, full.X_val.shape[1])), n, n,
                                          note="bases drawn uniformly at random")
    # the stacks fitted on random sequences themselves (the paper's same-kind setting) bound
    # how many of them any stack over these layers can flag
    case = protocol.Case("genome", full.X_train, full.y_train, full.X_val[val],
                         full.y_val[val], full.X_val[test], kinds, y_test=full.y_val[test],
                         same_kind=[next(iter(kinds)), "random sequences"])
    return case, net


def layer_set_name(rule, layer_set):
    return f"FSSD {rule}, {layer_set}"


def methods(net, cfg, seed, layer_sets=None, tokens=False):
    """The rules measured on one case; with ``layer_sets`` (name -> layers), also each rule of
    :data:`LAYER_SET_RULES` with each of those layer sets but the network's default one, whose
    rows the default rules already are (:func:`layer_set_row`)."""
    from sklearn_fssd import EnergyDetector, MahalanobisDetector, MSPDetector
    from sklearn_fssd.features import resolve_layers

    def rows(seen):
        return fit_rows(len(seen.X_train), cfg["n_fit"], seed)

    def fssd(params, detector=FSSDDetector):
        """The detector of a row and the parameters its results record: one distance per layer
        unless ``params`` name the distances, so each row measures what it names whatever
        ``distances="auto"`` picks."""
        params = {"distances": "layer", **params}
        return detector(net, random_state=seed, **params), params

    def fssd_no_ood(params, detector=FSSDDetector):
        def make(seen):
            det, recorded = fssd(params, detector)
            return det.fit(seen.X_train[rows(seen)]), recorded
        return Method(make, uses_ood=False)

    def stack(params):
        def make(seen):
            if seen.ood_kind is None:  # without OoD data: its own synthetic outliers
                X, y = seen.X_train[rows(seen)], None
            else:
                X, y = seen.training_against_ood(rows(seen))[:2]
            det, recorded = fssd(params)
            return det.fit(X, y), recorded
        return Method(make)

    def paper_stack(params):
        return stack({**params, "layers": ood.paper_layers(net)})

    def with_layers(params, layers):
        params = {**params, "layers": layers}
        if params["combine"] in NO_OOD_RULES:
            return fssd_no_ood(params)
        return stack(params)

    def maha(seen):
        r = rows(seen)
        det = MahalanobisDetector(net, random_state=seed)
        return det.fit(seen.X_train[r], class_labels=seen.y_train[r]), {}

    made = {f"FSSD {rule}": fssd_no_ood({"combine": rule}) for rule in NO_OOD_RULES}
    made[ARGMAX_RULE] = fssd_no_ood({"combine": "class_typical"}, ArgmaxClassTypical)
    made[CHANNEL_RULE] = fssd_no_ood({"combine": "class_typical", "distances": "channel"})
    if tokens:
        made[FREQUENCY_TOKENS_RULE] = fssd_no_ood(
            {"combine": "class_typical", "distances": "channel"}, FrequencyTokenNoise)
    made.update({
        "MSP": Method(lambda seen: (MSPDetector(net).fit(seen.X_train[rows(seen)]), {}),
                      uses_ood=False),
        "Energy": Method(lambda seen: (EnergyDetector(net).fit(seen.X_train[rows(seen)]), {}),
                         uses_ood=False),
        "Maha": Method(maha, uses_ood=False),
    })
    made.update({name: (paper_stack if name == PAPER_STACK else stack)(params)
                 for name, params in STACKS.items()})
    default = resolve_layers(net, "auto")
    made.update({layer_set_name(rule, name): with_layers(params, layers)
                 for name, layers in (layer_sets or {}).items() if list(layers) != default
                 for rule, params in LAYER_SET_RULES.items()})
    return made


def genome_seeds_of(args):
    """The genome set's networks: ``--genome-seeds``, else :data:`GENOME_SEEDS` (``--quick``:
    seed 0 alone); none with ``--no-genome``."""
    if not args.genome:
        return ()
    return tuple(dict.fromkeys(args.genome_seeds or ((0,) if args.quick else GENOME_SEEDS)))


def run(args):
    from sklearn_fssd.features import resolve_layers
    from sklearn_fssd.training import train_lenet

    cfg = config(args.quick, args.epochs)
    started = time.perf_counter()
    log = {"trained": [], "loaded": [], "train_s": {}}
    results = {}
    nets = {}
    for name, case in cases(cfg, args.seed).items():
        n_classes = int(case.y_train.max()) + 1
        tag = name.lower().replace(" ", "-")
        nets[name] = case, ood.cached_lenet(
            args.cache, f"defaults_{tag}_lenet_e{cfg['epochs']}_n{len(case.X_train)}"
                        f"_s{args.seed}.pt",
            lambda: train_lenet(case.X_train, case.y_train, max_epochs=cfg["epochs"],
                                random_state=args.seed), log, num_classes=n_classes), cfg
    seeds = {}  # case -> the seed of its detectors and draws
    genome_seeds = genome_seeds_of(args)
    for genome_seed in genome_seeds:
        case, net = genome_case(cfg, genome_seed, args.genome_cache, log)
        name = genome_case_name(genome_seed, genome_seeds)
        nets[name] = case, net, {**cfg, "n_fit": cfg["n_fit_genome"]}
        seeds[name] = genome_seed
    for name, (case, net, case_cfg) in nets.items():
        family = family_of(name)
        ev = protocol.evaluate(case, methods(net, case_cfg, seeds.get(name, args.seed),
                                             LAYER_SET_FAMILIES[family][1],
                                             tokens=family == GENOME_SET))
        results[name] = {
            "sizes": {"train": len(case.X_train), "test_id": len(case.X_test),
                      **{f"{k} val/test": [len(v.val), len(v.test)]
                         for k, v in case.kinds.items()}},
            "kinds": {k: v.note for k, v in case.kinds.items()},
            "test_accuracy": ood.accuracy(net, case.X_test, case.y_test, n_chunks=20),
            "layers": resolve_layers(net, "auto"),
            **ev.results,
        }
        if family == GENOME_SET:
            rows = fit_rows(len(case.X_train), case_cfg["n_fit"], seeds[name])
            results[name]["noise_bound"] = noise_bound(case, net, rows, seeds[name])
    return {
        **provenance(command("fssd-defaults", args.argv), seed=args.seed, started=started),
        "config": {**cfg, "genome_seeds": list(genome_seeds)},
        "networks": log, "cases": results, "summary": summary(results),
    }


def _figures(results, setting, rows):
    """``{case: AUROC}``: the mean AUROC over each case's kinds of its row ``rows[case]`` in
    ``setting``."""
    return {c: results[c]["settings"][setting]["mean"][row]["auroc"] for c, row in rows.items()}


def _with_mean(row, name):
    """``row`` (``{case: AUROC}``) with its mean over the sets (:func:`per_set`) as ``name``."""
    return {**row, name: per_set(row)["mean over cases"]}


def per_set(per_case):
    """``{case: AUROC}`` -> ``{set: AUROC}`` (a set of several cases, the genome networks': their
    mean) and ``"mean over cases"``, the mean over the sets, by which the rules are chosen."""
    sets = {}
    for case, value in per_case.items():
        sets.setdefault(set_of(case), []).append(value)
    row = {name: float(np.mean(values)) for name, values in sets.items()}
    row["mean over cases"] = float(np.mean(list(row.values())))
    return row


def summary(results):
    """Per rule, its mean AUROC over the kinds of each set (``"auroc"``; the genome set: the mean
    over its networks, each in ``"genome networks"``) and the mean over the sets; the winners."""
    out = {}
    for setting, rules in [("no_ood", [*NO_OOD_FSSD, "MSP", "Energy", "Maha"]),
                           ("other_kind", list(STACKS))]:
        per_case = {rule: _figures(results, setting, dict.fromkeys(results, rule))
                    for rule in rules}
        table = {rule: per_set(row) for rule, row in per_case.items()}
        fssd = {r: v for r, v in table.items() if r.startswith("FSSD")}
        best = max(fssd, key=lambda r: fssd[r]["mean over cases"])
        out[setting] = {"auroc": table, "best FSSD rule": best}
        networks = cases_of(results, GENOME_SET)
        if len(networks) > 1:
            out[setting]["genome networks"] = {rule: {c: row[c] for c in networks}
                                               for rule, row in per_case.items()}
    out["other_kind"]["flagged"] = noise_columns(results, "other_kind", itemgetter("flagged"))
    out["same_kind_noise"] = same_kind_noise(results)
    out["noise_bound"] = {c: r["noise_bound"] for c, r in results.items() if "noise_bound" in r}
    out["layers"] = layer_summary(results)
    if cases_of(results, GENOME_SET):
        out["genome_layers"] = layer_summary(results, "genome")
        out["token_noise"] = token_noise_summary(results)
    out["leave_one_out"] = leave_one_out(results)
    return out


def noise_columns(results, setting, pick):
    """Per stack, per case, per noise kind (:data:`NOISE_KINDS`) that the case measures in
    ``setting``: ``pick`` of the stack's figures on that kind (a case without one: ``{}``)."""
    return {rule: {case: {k: pick(columns[k]["methods"][rule]) for k in NOISE_KINDS
                          if k in columns}
                   for case, res in results.items()
                   for columns in [res["settings"].get(setting, {}).get("columns", {})]}
            for rule in STACKS}


def same_kind_noise(results):
    """Per stack, per case and noise kind that the case measures in the paper's same-kind
    setting (the genome case: random sequences), the stack's AUROC and share flagged when it was
    fitted on that kind itself: how far a stack over these layers can go on it at all."""
    return noise_columns(results, "same_kind",
                         lambda m: {"auroc": m["auroc"], "flagged": m["flagged"]})


def same_kind_measured(same):
    """``[(case, kind), ...]`` that :func:`same_kind_noise`'s ``same`` holds."""
    return [(case, kind) for case, kinds in next(iter(same.values()), {}).items()
            for kind in kinds]


def tuned_gap(summary_):
    """``(tuned, best, gap)``: the best FSSD rule tuned on another kind, the best without OoD
    data, and per case (and "mean over cases") the first's AUROC minus the second's."""
    tuned = summary_["other_kind"]["best FSSD rule"]
    best = summary_["no_ood"]["best FSSD rule"]
    other, none = summary_["other_kind"]["auroc"][tuned], summary_["no_ood"]["auroc"][best]
    return tuned, best, {case: other[case] - none[case] for case in none}


def token_noise_summary(results):
    """On the genome cases without OoD data: class_typical's mean AUROC over each case's kinds
    with ``F*`` from each noise (the default first: uniform token ids; the in-distribution
    tokens' frequencies), and the mean over those cases."""
    cases_ = cases_of(results, GENOME_SET)
    if not _measures_token_noise(results, cases_):
        return {}
    return {"auroc": {noise: _with_mean(_figures(results, "no_ood", dict.fromkeys(cases_, rule)),
                                        "mean over genome cases")
                      for noise, rule in TOKEN_NOISES.items()}, "cases": cases_,
            "rule": TOKEN_NOISES["uniform token ids"]}


def _measures_token_noise(results, cases_):
    """Whether every one of ``cases_`` (at least one) measured each noise of
    :data:`TOKEN_NOISES`."""
    return _measures_rows(results, cases_, "no_ood", TOKEN_NOISES.values())


def token_noise_rule(noise):
    """The rule :func:`token_noise_summary`'s ``noise`` compares the noises with, without its
    ``FSSD`` (a file from before the comparison read one distance per channel: class_typical)."""
    return noise.get("rule", "FSSD class_typical")[len("FSSD "):]


def token_noise_markdown(noise):
    """The table of :func:`token_noise_summary` (none: ``[]``)."""
    if not noise:
        return []
    return (["", f"## The noise behind F* of a sequence model: {token_noise_rule(noise)} without "
             "OoD data, mean AUROC over each genome case's kinds (%)", ""]
            + _table("noise tokens drawn with", noise["auroc"],
                     [*noise["cases"], "mean over genome cases"]))


def layer_set_row(result, rule, layer_set, sets=LENET_LAYER_SETS):
    """The row of ``rule`` with ``layer_set`` (of ``sets``) in one case's results: the default
    rule's (``"FSSD <rule>"``) when the set is the network's default layers, which
    :func:`methods` does not fit twice."""
    default = list(sets[layer_set]) == result.get("layers")
    return f"FSSD {rule}" if default else layer_set_name(rule, layer_set)


def layer_set_rows(results, cases_, rule, layer_set, sets):
    """``{case: row}``: :func:`layer_set_row` of ``rule`` with ``layer_set`` in each case."""
    return {c: layer_set_row(results[c], rule, layer_set, sets) for c in cases_}


def layer_summary(results, family="image"):
    """Per rule of :data:`LAYER_SET_RULES` and layer set of ``family``'s network
    (:data:`LAYER_SET_FAMILIES`), the mean AUROC over each of the family's cases' kinds (the
    stacks tuned on another kind, the others without OoD data), the mean over those cases, and
    the better set per rule."""
    network, sets = LAYER_SET_FAMILIES[family]
    cases_ = cases_of(results, family)
    mean = f"mean over {family} cases"
    table, best = {}, {}
    for rule in LAYER_SET_RULES:
        setting = layer_set_setting(rule)
        for layer_set in sets:
            name = layer_set_name(rule, layer_set)
            rows = layer_set_rows(results, cases_, rule, layer_set, sets)
            table[name] = _with_mean(_figures(results, setting, rows), mean)  # genome: one set
        best[rule] = max(sets, key=lambda ls: table[layer_set_name(rule, ls)][mean])
    return {"auroc": table, "best layer set": best, "cases": cases_, "family": family,
            "network": network, "sets": sets}


#: The sets whose OoD kinds a reported benchmark tests on other samples, and where.
REPORTED_KINDS = {"Fashion-MNIST": ("the Fashion-MNIST benchmark", "its test images"),
                  GENOME_SET: ("the genome benchmark", "its test fragments")}


def _kind_mean(results, setting, rows, left_out=None):
    """The figure a choice ranks by: the mean over the sets of ``rows``' cases (``case -> row``)
    of each set's mean over its cases of the row's mean AUROC over the case's kinds in
    ``setting``; ``left_out`` (``("set", name)`` or ``("kind", name)``) is left out of it.
    ``None`` where nothing is left."""
    per_case = {}
    for case, row in rows.items():
        if left_out == ("set", set_of(case)):
            continue
        columns = results[case]["settings"][setting]["columns"]
        kept = [k for k in columns if left_out != ("kind", k)]
        if kept:
            per_case[case] = float(np.mean([columns[k]["methods"][row]["auroc"] for k in kept]))
    return per_set(per_case)["mean over cases"] if per_case else None


def choices(results):
    """Every choice this benchmark makes: ``name -> (setting, {candidate: {case: row}})``. The
    rules without OoD data and tuned on another kind (every case), each rule's layer set (the
    cases of the layer sets' network), one distance per layer or per channel in each setting
    (the cases of each family, where they measured both: :data:`DISTANCE_ROWS`) and the noise
    behind ``F*`` (the genome cases)."""
    every = list(results)
    made = {"rule without OoD data": ("no_ood", {r: dict.fromkeys(every, r) for r in NO_OOD_FSSD}),
            "rule tuned on one other kind": ("other_kind",
                                             {r: dict.fromkeys(every, r) for r in STACKS})}
    for family, (network, sets) in LAYER_SET_FAMILIES.items():
        cases_ = cases_of(results, family)
        for rule in LAYER_SET_RULES if cases_ else ():
            made[f"layers {network} taps for {rule}"] = (layer_set_setting(rule), {
                ls: layer_set_rows(results, cases_, rule, ls, sets) for ls in sets})
        for setting, rows in DISTANCE_ROWS.items():
            if _measures_rows(results, cases_, setting, rows.values()):
                made[distances_choice(family, setting)] = (setting, {
                    distances: dict.fromkeys(cases_, row) for distances, row in rows.items()})
    genome = cases_of(results, GENOME_SET)
    if _measures_token_noise(results, genome):
        made["noise behind F* of sequence models"] = ("no_ood", {
            noise: dict.fromkeys(genome, rule) for noise, rule in TOKEN_NOISES.items()})
    return made


def _measures_rows(results, cases_, setting, rows):
    """Whether every one of ``cases_`` (at least one) measured each of ``rows`` in ``setting``
    (a results file from before a row was added lacks it)."""
    return bool(cases_) and all(row in results[c]["settings"][setting]["mean"]
                                for c in cases_ for row in rows)


def leave_one_out(results, made=None):
    """Per choice of ``made`` (default :func:`choices`): the winner, the sets it was made on and
    its lead over the runner-up; and the same made again with each set (where the choice spans
    several) and each OoD kind left out in turn, so a reader sees whether one set or kind, a
    reported benchmark's among them, decided it. ``"changed by"`` lists what, left out, puts
    another candidate strictly ahead; ``"closest"`` is the left-out set or kind under which the
    winner's margin over the best other candidate is smallest (negative: another wins), and
    that margin."""
    out = {}
    for name, (setting, candidates) in (choices(results) if made is None else made).items():
        cases_ = [c for c in results if any(c in rows for rows in candidates.values())]
        sets = list(dict.fromkeys(set_of(c) for c in cases_))
        kinds = list(dict.fromkeys(k for c in cases_
                                   for k in results[c]["settings"][setting]["columns"]))
        left = [None] + ([("set", s) for s in sets] if len(sets) > 1 else []) \
            + [("kind", k) for k in kinds]
        means = {what: {cand: _kind_mean(results, setting, rows, what)
                        for cand, rows in candidates.items()} for what in left}
        means = {what: m for what, m in means.items() if None not in m.values()}
        everything = means.pop(None)
        winner = max(everything, key=everything.get)  # the first of equals, as summary() takes

        def margin(m):
            """The winner's lead over the best other candidate, and that candidate."""
            rival = max((c for c in m if c != winner), key=m.get)
            return m[winner] - m[rival], rival

        lead = margin(everything)[0]
        under = {what: margin(m) for what, m in means.items()}
        closest = min(under, key=lambda what: under[what][0]) if under else None
        out[name] = {
            "setting": setting, "sets": sets, "winner": winner, "lead": lead,
            "n_left_out": len(under),
            "changed by": [{"left out": list(what), "winner": rival}
                           for what, (gap, rival) in under.items() if gap < 0],
            "closest": closest and {"left out": list(closest), "margin": under[closest][0],
                                    "rival": under[closest][1]},
        }
    return out


def signed(margin):
    """A margin to 2 decimals with its sign; one that rounds to 0 as ``+<0.01``/``-<0.01``."""
    text = f"{margin:+.2f}"
    return text if float(text) or not margin else f"{text[0]}<0.01"


def leave_one_out_markdown(loo):
    """The table of :func:`leave_one_out` (none: ``[]``)."""
    if not loo:
        return []
    lines = ["", "## Would one set or one OoD kind have changed a choice?", "",
             "Each choice made again with one set (where it spans several) or one OoD kind left "
             "out in turn (a kind by its name, from every case that measures it). Reported "
             "benchmarks test some of these kinds on other samples: "
             + "; ".join(f"{by} those of the {s} set, on {on}"
                         for s, (by, on) in REPORTED_KINDS.items())
             + ". A choice made the same without that benchmark's set does not rest on it; the "
             "kind rows show whether one of its kinds alone decides it, and a choice made on "
             "that set alone rests on its kinds.", "",
             "| choice | made on | chosen | lead (points) | left out in turn | changed by | "
             "smallest margin, when left out |", "|---|---|---|---|---|---|---|"]
    for name, c in loo.items():
        changed = "; ".join(f"{w['left out'][1]} ({w['winner']} wins)" for w in c["changed by"])
        close = c["closest"]
        lines.append(f"| {name} | {', '.join(c['sets'])} | {c['winner']} | {fmt(c['lead'], 2)} | "
                     f"{c['n_left_out']} | {changed or 'nothing'} | "
                     + (f"{signed(close['margin'])} over {close['rival']}, without "
                        f"{close['left out'][1]}" if close else "") + " |")
    return lines


def markdown(res):
    cfg, s = res["config"], res["summary"]
    sets = [c for c in next(iter(s["no_ood"]["auroc"].values())) if c != "mean over cases"]
    networks = [c for c in res["cases"] if set_of(c) == GENOME_SET]
    lines = [
        f"# FSSD's defaults: every rule on {len(sets)} sets no reported column holds"
        + (f" (genome: {len(networks)} networks)" if len(networks) > 1 else ""),
        "", provenance_line(res),
        f"LeNets trained {cfg['epochs']} epochs (the paper's recipe otherwise) on up to "
        f"{cfg['n_train']} training images; every detector fitted on {cfg['n_fit']} of them"
        + (f" ({cfg['n_fit_genome']} training fragments in the genome case)"
           if "genome" in res["cases"] else "") + ", epsilon 0; test "
        "accuracy: " + ", ".join(
            f"{k} {100 * v['test_accuracy']:.1f} %" for k, v in res["cases"].items()) + ".",
        *(["Layers tapped (`layers=\"auto\"`, where a row names no other set; the paper's "
            "plain stack taps `LeNet.paper_layers`): " + "; ".join(
            f"{k} {', '.join(v['layers'])}" for k, v in res["cases"].items()) + "."]
          if all("layers" in v for v in res["cases"].values()) else []),
        "In-distribution test samples are training-set images the network never saw; the "
        "Fashion-MNIST benchmark reports on the test sets, so no reported sample helped "
        "choose. Each genome case tests on halves of the genome benchmark's validation "
        "fragments, which that benchmark tunes on but never reports. The rules are ranked by "
        "the mean over the sets; the genome set's figure is the mean over its networks' "
        "cases.", "",
        "## Without OoD data: mean AUROC over each set's kinds (%)", "",
    ]
    cases_ = list(res["cases"])
    set_columns = [*sets, "mean over cases"]
    set_titles = [*sets, "mean over sets"]
    lines += _table("rule", s["no_ood"]["auroc"], set_columns, set_titles)
    lines += _genome_networks_markdown(s["no_ood"])
    best = s["no_ood"]["best FSSD rule"]
    table = s["no_ood"]["auroc"]
    others = sorted((r for r in table if r.startswith("FSSD") and r != best),
                    key=lambda r: -table[r]["mean over cases"])
    lines += ["", f"Best FSSD rule without OoD data: **{best}** "
              f"({fmt(table[best]['mean over cases'], 2)}); then "
              + ", ".join(f"{r} {fmt(table[r]['mean over cases'], 2)}" for r in others) + ".",
              "", "## Tuned on one other OoD kind: mean AUROC over each set's kinds (%)", ""]
    lines += _table("rule", s["other_kind"]["auroc"], set_columns, set_titles)
    lines += _genome_networks_markdown(s["other_kind"])
    tuned, _, gap = tuned_gap(s)
    lines += ["", f"Best FSSD rule tuned on another kind: **{tuned}** "
              f"({fmt(s['other_kind']['auroc'][tuned]['mean over cases'], 2)}); minus {best} "
              "without OoD data: " + ", ".join(
                  f"{'mean over sets' if c == 'mean over cases' else c} {gap[c]:+.2f}"
                  for c in gap) + "."]
    lines += ["", "Share of noise (uniform pixels; for DNA, uniform bases) / far-out inputs "
              "(no such kind for DNA) flagged by `predict` (%), tuned on one other kind:", "",
              "| rule | " + " | ".join(cases_) + " |", "|---|" + "---|" * len(cases_)]
    for rule, per_case in s["other_kind"]["flagged"].items():
        lines.append(f"| {rule} | " + " | ".join(
            " / ".join(fmt(v[k]) for k in NOISE_KINDS if k in v) for v in per_case.values())
            + " |")
    same = s.get("same_kind_noise") or {}
    where = same_kind_measured(same)
    if where:
        lines += ["", "Fitted on the noise itself (the paper's same-kind setting: a bound on what "
                  "a stack over these layers can do there), AUROC / share flagged by `predict` "
                  "(%):", "", "| rule | " + " | ".join(f"{c}: {k}" for c, k in where) + " |",
                  "|---|" + "---|" * len(where)]
        for rule, per in same.items():
            lines.append(f"| {rule} | " + " | ".join(
                f"{fmt(per[c][k]['auroc'])} / {fmt(per[c][k]['flagged'])}" for c, k in where)
                + " |")
    lines += noise_bound_markdown(s.get("noise_bound"))
    lines += layer_markdown(s["layers"]) if "layers" in s else []
    lines += layer_markdown(s["genome_layers"]) if "genome_layers" in s else []
    lines += token_noise_markdown(s.get("token_noise"))
    lines += leave_one_out_markdown(s.get("leave_one_out"))
    lines += [""]
    for name, r in res["cases"].items():
        lines += [f"## {name}", "", "Kinds: " + "; ".join(f"**{k}**: {v}"
                                                        for k, v in r["kinds"].items()) + ".",
                  ""]
        sub = {"settings": {k: r["settings"][k] for k in ("no_ood", "other_kind")},
               "fits": r["fits"]}
        lines += protocol.tables(sub, digits=1)
    return "\n".join(lines) + "\n"


def noise_bound_markdown(bound):
    """The table of :func:`noise_bound` per genome case (none: ``[]``)."""
    if not bound:
        return []
    cases_ = list(bound)
    first = bound[cases_[0]]
    lines = ["", f"Fitted on the {first['kind']} themselves, classifiers on FSSD's "
             f"{first['columns']} distances (one per channel of every tapped layer), not rules "
             "FSSD offers: the ceiling of what the distances hold. AUROC / share of the "
             f"{first['kind']} flagged with 95 % of the in-distribution test samples kept (%):",
             "", "| classifier | " + " | ".join(cases_) + " |", "|---|" + "---|" * len(cases_)]
    for name in BOUND_CLASSIFIERS:
        lines.append(f"| {name} | " + " | ".join(
            f"{fmt(bound[c][name]['auroc'])} / {fmt(bound[c][name]['flagged'])}"
            for c in cases_) + " |")
    return lines


def _table(first, rows, columns, titles=None):
    """Markdown lines: a row per ``name -> {column: figure}`` of ``rows``, its figures in
    ``columns`` to 2 decimals, under the title ``first`` and ``titles`` (default ``columns``)."""
    return (["| " + " | ".join([first, *(titles or columns)]) + " |",
             "|---|" + "---|" * len(columns)]
            + [f"| {name} | " + " | ".join(fmt(row[c], 2) for c in columns) + " |"
               for name, row in rows.items()])


def _genome_networks_markdown(setting):
    """The genome set's networks, one column each, under a table of sets (none: ``[]``)."""
    per = setting.get("genome networks")
    if not per:
        return []
    nets = list(next(iter(per.values())))
    return (["", f"The genome set's figure is the mean over its {len(nets)} networks' cases:", ""]
            + _table("rule", per, nets))


def layer_markdown(layers):
    cases_, family = layers["cases"], layers.get("family", "image")
    mean = f"mean over {family} cases"
    lines = ["", f"## {layers.get('network', 'LeNet')}'s layers: mean AUROC over each {family} "
             "case's kinds (%)", "",
             "Layer sets: " + "; ".join(f"**{k}**: {', '.join(v)}"
                                        for k, v in layers.get("sets", LENET_LAYER_SETS).items())
             + ". The stacks are tuned on one other kind, the other rules use no OoD "
             "data.", ""]
    lines += _table("rule, layers", layers["auroc"], [*cases_, mean])
    lines += ["", "Better layer set per rule: " + "; ".join(
        f"{rule}: **{ls}**" for rule, ls in layers["best layer set"].items()) + "."]
    return lines


def main(argv=None):
    parser = ood.benchmark_parser("fssd-defaults", __doc__, "fssd_defaults",
                                  "small subsets, 1 epoch")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of each LeNet (default 3, quick 1)")
    parser.add_argument("--no-genome", dest="genome", action="store_false",
                        help="leave out the genome case (it needs the Debian genome packages)")
    parser.add_argument("--genome-seeds", type=int, nargs="+", default=None,
                        help="the genome benchmark's networks (its --seed) forming the genome "
                             "set, one case each (default 0 1 2; --quick: 0)")
    parser.add_argument("--genome-cache", type=Path, default=CACHE,
                        help="folder of the genome benchmark's fragments and BiLSTM weights "
                             "(default benchmarks/cache, where `python -m benchmarks genome` "
                             "leaves them)")
    args = ood.parse_benchmark_args(parser, argv)
    res = run(args)
    print(ood.write(res, args.out, "fssd_defaults", markdown(res)))
    return res


if __name__ == "__main__":
    main()
