"""The one OoD evaluation protocol of the benchmarks: three settings, each a column group.

A user meets OoD inputs of kinds nobody anticipated, so a benchmark :class:`Case` holds several
OoD *kinds* (another data set, uniform noise, blurred in-distribution images, ...), each with
disjoint validation and test samples, and every method is evaluated in three settings:

``"no_ood"``, no OoD data
    The method sees the in-distribution training data only (``fit(X)``); nothing is tuned on
    OoD samples.
``"other_kind"``, tuned on one other OoD kind
    In the column of test kind ``K`` the method may fit and tune on the in-distribution
    validation samples and the validation samples of *one* other kind, ``case.tune_on[K]``:
    never ``K``, never a kind of ``K``'s family. The rule (:func:`reference_tune_on`): every
    column is tuned on the case's reference kind, its first (FMNIST: MNIST, the kind the paper
    tunes on); the reference's own family is tuned on the first kind listed of another family.
``"same_kind"``, the paper's setting
    Validation OoD of the column's own kind, as Huang et al.'s Table 2 tunes; kept only to
    compare with the papers, and only for the kinds ``case.same_kind`` names (FMNIST: MNIST,
    the paper's column).

A :class:`Method` is a function that takes the :class:`Seen` data of one setting and returns a
fitted detector and its chosen parameters, and says whether it uses OoD validation data at all.
:func:`evaluate` fits a method that does not once, and the same detector serves every column;
one that does is fitted once per tuning kind (``None`` for no OoD data), and its fit on kind
``J`` serves the paper's column ``J`` and the other-kind column of every kind tuned on ``J``.

Leakage guard: :func:`seen_for` is the one place that hands data to methods; before a fitted
detector's scores enter a column, :func:`audit` finds by fingerprints of rows which pools it
saw, and :func:`leaks` (the rules written out on their own) raises :class:`LeakError` for any
the column may not show: a test or auxiliary sample, ever; without OoD data, anything but
training samples; in the other-kind setting, validation samples of more than one kind or of
the column's kind or family; in the paper's setting, validation samples of another kind. A
case refuses pools (training, validation, test, auxiliary data the networks were trained with)
that share a row, so a fingerprint names one pool. What a method's function captures besides
its :class:`Seen` argument (a network trained on the training data, say) is up to the
benchmark: build methods from networks and settings, never from data arrays.

A new in-distribution/OoD pair is a :class:`Case` (``benchmarks/ood_kinds.py`` makes image
kinds) and its trained network: ``evaluate(case, benchmarks.methods.ood_methods(net, cfg,
seed))``, then :func:`describe`, :func:`tables` and :func:`details` write the Markdown.
"""

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from benchmarks._ood import fmt, report

#: setting -> its label in tables.
SETTINGS = {
    "no_ood": "no OoD data",
    "other_kind": "tuned on one other OoD kind",
    "same_kind": "the paper's setting: tuned on the test kind itself (only to compare with "
                 "the papers)",
}

#: The metrics each table gives, as :func:`benchmarks._ood.report` names them, and their titles.
METRICS = {"auroc": "AUROC", "aupr_in": "AUPR-In", "aupr_out": "AUPR-Out",
           "fpr_at_95_tpr": "FPR95"}


class LeakError(RuntimeError):
    """A fitted or tuned part saw samples its column must not show it."""


def row_digests(X, chunk=4096):
    """One digest per row of ``X``: rows of equal values share one, whatever their dtype."""
    X = np.asarray(X)
    X = X.reshape(len(X), -1)
    out = []
    for start in range(0, len(X), chunk):
        block = np.ascontiguousarray(X[start:start + chunk], dtype=np.float64) + 0.0  # no -0.0
        out.extend(hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in block)
    return out


def unique_rows(X, exclude=()):
    """Indices of the rows of ``X`` to keep: the first of equal rows, none equal to a row of
    an array in ``exclude``."""
    seen = set()
    for other in exclude:
        seen.update(row_digests(other))
    keep = []
    for i, digest in enumerate(row_digests(X)):
        if digest not in seen:
            seen.add(digest)
            keep.append(i)
    return np.asarray(keep, dtype=int)


@dataclass(frozen=True, eq=False)
class Kind:
    """One OoD kind: validation and test samples (no row in common), its family and a note.

    Kinds of one ``family`` (e.g. uniform and Gaussian noise) never tune each other's column;
    ``None`` makes the kind a family of its own.
    """

    val: np.ndarray
    test: np.ndarray
    family: str = None
    note: str = ""

    @classmethod
    def draw(cls, X, n_val, n_test, rng=None, **kwargs):
        """``n_val`` validation and the next ``n_test`` test rows of ``X`` (shuffled by
        ``rng`` first when given)."""
        if len(X) < n_val + n_test:
            raise ValueError(f"{len(X)} samples cannot give {n_val} validation and {n_test} "
                             "test samples; ask for fewer.")
        order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
        return cls(X[order[:n_val]], X[order[n_val:n_val + n_test]], **kwargs)


def reference_tune_on(kinds):
    """The tuning kind of each test kind: the reference kind (the first of ``kinds``), or for
    kinds of the reference's family, the first kind listed of another family."""
    family = {k: kinds[k].family or k for k in kinds}
    reference = next(iter(kinds))
    other = next((k for k in kinds if family[k] != family[reference]), None)
    if other is None:
        raise ValueError("Every kind is of one family, so no kind can tune another's column: "
                         "give the case kinds of at least two families.")
    return {k: other if family[k] == family[reference] else reference for k in kinds}


@dataclass(eq=False)
class Case:
    """One in-distribution data set and its OoD kinds, split for the protocol.

    Parameters
    ----------
    name : str
    X_train, y_train : in-distribution training samples and their classes
    X_val, y_val : in-distribution validation samples and their classes
    X_test : in-distribution test samples
    kinds : dict of str -> Kind
        The OoD kinds, in the order of the table columns; the first is the reference kind.
    auxiliary : dict of str -> ndarray, optional
        Other data a fitted part was trained with (Outlier Exposure's outliers): no test or
        validation sample may equal one of its rows.
    tune_on : dict of str -> str, optional
        Test kind -> the kind tuned on in its other-kind column; default
        :func:`reference_tune_on`.
    y_test : ndarray, optional
        Classes of ``X_test``, for the networks' accuracy; never handed to a method.
    same_kind : list of str, optional
        The kinds that get a column in the paper's setting (default: every kind). A paper
        that tunes on one kind (FSSD's Table 2: MNIST) is compared on that kind alone, and
        each column of that setting costs one tuning of every method.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    kinds: dict
    auxiliary: dict = field(default_factory=dict)
    tune_on: dict = None
    y_test: np.ndarray = None
    same_kind: list = None

    def __post_init__(self):
        if len(self.kinds) < 2:
            raise ValueError(f"A case needs at least two OoD kinds; got {list(self.kinds)}.")
        self.tune_on = dict(reference_tune_on(self.kinds) if self.tune_on is None
                            else self.tune_on)
        if set(self.tune_on) != set(self.kinds):
            raise ValueError(f"tune_on must name a tuning kind for each kind {list(self.kinds)};"
                             f" got {self.tune_on}.")
        for test, tuned in self.tune_on.items():
            if tuned not in self.kinds or self.family(tuned) == self.family(test):
                raise ValueError(f"The column of {test!r} cannot be tuned on {tuned!r}: it "
                                 "must be another kind, of another family.")
        self.same_kind = list(self.kinds if self.same_kind is None else self.same_kind)
        unknown = [k for k in self.same_kind if k not in self.kinds]
        if unknown or not self.same_kind:
            raise ValueError(f"same_kind must name some of the kinds {list(self.kinds)}; got "
                             f"{self.same_kind}.")
        self._prints = {}
        self._check_disjoint()

    def columns(self, setting):
        """The kinds that get a column in ``setting``."""
        return self.same_kind if setting == "same_kind" else list(self.kinds)

    def family(self, kind):
        return self.kinds[kind].family or kind

    def pools(self):
        """pool name -> its samples: everything the case holds, each row in one pool."""
        pools = {"train": self.X_train, "id val": self.X_val, "id test": self.X_test}
        for name, kind in self.kinds.items():
            pools[f"{name} val"], pools[f"{name} test"] = kind.val, kind.test
        pools.update({f"auxiliary {name}": X for name, X in self.auxiliary.items()})
        return pools

    def prints(self, X):
        """The set of row digests of ``X`` (cached for the arrays the case holds)."""
        key = id(X)
        if key not in self._prints:
            self._prints[key] = (X, set(row_digests(X)))  # keeps X alive, so the id stays its
        return self._prints[key][1]

    def pools_touched(self, arrays):
        """The names of the pools that share a row with one of ``arrays``."""
        got = set().union(*(self.prints(X) for X in arrays))
        return {pool for pool, X in self.pools().items() if not got.isdisjoint(self.prints(X))}

    def _check_disjoint(self):
        owner, shared = {}, {}
        for pool, X in self.pools().items():
            for digest in self.prints(X):
                first = owner.setdefault(digest, pool)
                if first != pool:
                    shared[first, pool] = shared.get((first, pool), 0) + 1
        if shared:
            raise ValueError("Pools of the case share rows (drop them, e.g. with unique_rows): "
                             + "; ".join(f"{a} and {b}: {n}" for (a, b), n in shared.items()))


@dataclass(frozen=True, eq=False)
class Seen:
    """What a method may fit and tune on in one setting: the in-distribution training data,
    and where the setting allows OoD data, the in-distribution validation samples and the
    validation samples of one OoD kind (``ood_kind``)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val_id: np.ndarray = None
    c_val_id: np.ndarray = None
    X_val_ood: np.ndarray = None
    ood_kind: str = None

    @property
    def X_val(self):
        """In-distribution then OoD validation samples."""
        return np.concatenate([self.X_val_id, self.X_val_ood])

    @property
    def y_val(self):
        """+1 for the in-distribution validation samples, -1 for the OoD ones."""
        return np.r_[np.ones(len(self.X_val_id), int), -np.ones(len(self.X_val_ood), int)]

    def training_against_ood(self, rows):
        """``(X, y, classes)``: the training samples ``rows`` as in-distribution (+1), then the
        validation samples of the OoD kind (-1); the training samples' classes, 0 on the OoD
        ones. What a detector fits a stack on, so its in-distribution side (class Gaussians,
        guard, percentiles) is estimated on as many samples as a fit without OoD data gets, as
        Lee et al. fit Mahalanobis's class Gaussians on training data."""
        X_id, classes = self.X_train[rows], self.y_train[rows]
        n_ood = len(self.X_val_ood)
        return (np.concatenate([X_id, self.X_val_ood]),
                np.r_[np.ones(len(X_id), int), -np.ones(n_ood, int)],
                np.r_[classes, np.zeros(n_ood, classes.dtype)])


@dataclass(frozen=True)
class Method:
    """``make(seen) -> (fitted detector, chosen parameters)``; ``uses_ood=False`` if ``make``
    never looks at OoD validation data, so one fit serves every setting."""

    make: Callable
    uses_ood: bool = True


def _key(tuned):
    """A fit's key in the results: its tuning kind, or ``"no_ood"``."""
    return "no_ood" if tuned is None else tuned


def tuning_kind(case, setting, kind):
    """The OoD kind whose validation samples the ``setting`` column of ``kind`` may see."""
    if setting == "no_ood":
        return None
    if setting == "other_kind":
        return case.tune_on[kind]
    if setting == "same_kind":
        return kind
    raise ValueError(f"Unknown setting {setting!r}; valid: {list(SETTINGS)}.")


def seen_for(case, ood_kind):
    """The data a method may see when tuned on ``ood_kind`` (None: training data only)."""
    if ood_kind is None:
        return Seen(case.X_train, case.y_train)
    return Seen(case.X_train, case.y_train, case.X_val, case.y_val, case.kinds[ood_kind].val,
                ood_kind)


def leaks(case, touched, setting, kind):
    """The pools of ``touched`` (those a detector saw) that the ``setting`` column of ``kind``
    may not show it. The rules stand here on their own, not through :func:`tuning_kind`, so a
    slip there is caught: no test or auxiliary sample ever; training samples only without OoD
    data; the validation samples of one kind, of another family than ``kind``, in the
    other-kind setting, and of ``kind`` alone in the paper's setting."""
    vals = {k for k in case.kinds if f"{k} val" in touched}
    bad = touched - {"train", "id val"} - {f"{k} val" for k in vals}
    if setting == "no_ood":
        bad |= touched - {"train"}
    elif setting == "other_kind":
        bad |= {f"{k} val" for k in vals
                if len(vals) > 1 or case.family(k) == case.family(kind)}
    elif setting == "same_kind":
        bad |= {f"{k} val" for k in vals if k != kind}
    else:
        raise ValueError(f"Unknown setting {setting!r}; valid: {list(SETTINGS)}.")
    return bad


def audit(case, seen, setting, kind):
    """Raise :class:`LeakError` if ``seen`` holds a row the column may not show a method."""
    arrays = [v for v in vars(seen).values() if isinstance(v, np.ndarray) and v.ndim]
    leaked = leaks(case, case.pools_touched(arrays), setting, kind)
    if leaked:
        raise LeakError(f"The {SETTINGS[setting]!r} column of {kind!r} would use a detector "
                        f"that saw samples of {sorted(leaked)}.")


@dataclass
class Evaluation:
    """What :func:`evaluate` returns: ``results`` (JSON-ready), the fitted ``detectors`` and
    their ``scores``, keyed by ``(method, tuning kind)`` and ``(method, tuning kind, part)``
    (part: ``"id"`` or a kind)."""

    results: dict
    detectors: dict
    scores: dict


def evaluate(case, methods, *, transfer=False, check=True):
    """Every method of ``methods`` (name -> :class:`Method`) in every setting and column.

    Returns an :class:`Evaluation` whose ``results`` hold ``tune_on``; per setting its label,
    per column the tuning kind and per method the metrics of :func:`benchmarks._ood.report`
    and the kind it was fitted on; the ``mean`` over the columns; per method and fit its
    parameters and fit and score seconds; with ``transfer``, the AUROC of each fit on every
    test kind (``transfer[method][tuned on][tested on]``), which scores more samples.
    ``check=False`` skips :func:`audit` (only tests of the audit itself want that).
    """
    from tqdm.auto import tqdm

    settings = {s: {"label": label, "columns": {k: {"tuned_on": tuning_kind(case, s, k),
                                                     "methods": {}} for k in case.columns(s)},
                    "mean": {}} for s, label in SETTINGS.items()}
    res = {"tune_on": dict(case.tune_on), "settings": settings, "fits": {}}
    if transfer:
        res["transfer"] = {}
    detectors, scores = {}, {}
    bar = tqdm(methods.items(), desc=f"{case.name}: methods", total=len(methods))
    for name, method in bar:
        bar.set_postfix_str(name)
        fits = res["fits"][name] = {}
        seen = {}

        def scored(tuned, part):
            key = (name, tuned, part)
            if key not in scores:
                start = time.perf_counter()
                X = case.X_test if part == "id" else case.kinds[part].test
                scores[key] = detectors[name, tuned].score_samples(X)
                fits[_key(tuned)]["score_s"] += time.perf_counter() - start
            return scores[key]

        for setting in SETTINGS:
            for kind in case.columns(setting):
                tuned = tuning_kind(case, setting, kind) if method.uses_ood else None
                if tuned not in seen:
                    seen[tuned] = seen_for(case, tuned)
                    start = time.perf_counter()
                    detectors[name, tuned], params = method.make(seen[tuned])
                    fits[_key(tuned)] = {"params": params, "score_s": 0.0,
                                        "fit_s": time.perf_counter() - start}
                if check:
                    audit(case, seen[tuned], setting, kind)
                row = report(scored(tuned, "id"), scored(tuned, kind))
                row.update(flagged(detectors[name, tuned], scored(tuned, "id"),
                                   scored(tuned, kind)))
                settings[setting]["columns"][kind]["methods"][name] = {**row, "fitted_on": tuned}
        if transfer and method.uses_ood:
            res["transfer"][name] = {
                tuned: {k: report(scored(tuned, "id"), scored(tuned, k))["auroc"]
                        for k in case.kinds}
                for tuned in seen if tuned is not None}
    for block in settings.values():
        for name in methods:
            rows = [col["methods"][name] for col in block["columns"].values()]
            block["mean"][name] = {m: float(np.mean([r[m] for r in rows]))
                                   for m, v in rows[0].items() if isinstance(v, float)}
    return Evaluation(res, detectors, scores)


def flagged(detector, id_scores, ood_scores):
    """What ``predict`` does at the detector's own threshold (``offset_``), in %: the share of
    the OoD kind it flags and the share of the in-distribution test samples it keeps; empty
    for a detector without a threshold."""
    offset = getattr(detector, "offset_", None)
    if offset is None:
        return {}
    return {"flagged": 100 * float(np.mean(np.asarray(ood_scores) < offset)),
            "id_kept": 100 * float(np.mean(np.asarray(id_scores) >= offset))}


def describe(results, id_name):
    """A Markdown paragraph that says what the three settings of ``results`` are."""
    fixed = [name for name, fits in results["fits"].items() if list(fits) == ["no_ood"]]
    return (f"Settings (`benchmarks/protocol.py`): **{SETTINGS['no_ood']}**, every detector "
            f"fitted on in-distribution ({id_name}) training samples only; "
            f"**{SETTINGS['other_kind']}**, "
            "whatever a method tunes or fits on OoD data (layer stacks, epsilon, temperature, "
            "dropout rate) sees the validation samples of one kind, never the column's (the "
            "tuning kind of each column is named above its table); **the paper's setting**, "
            "validation and test OoD of one kind, only to compare with the paper. "
            + (f"{', '.join(fixed)} use no OoD data: the same fit in every setting. "
               if fixed else "")
            + f"In-distribution ({id_name}) is the positive class; metrics in %; FPR95 = share "
            "of the OoD kind accepted when 95 % of the in-distribution test samples are "
            "(lower is better).")


def tables(results, digits=1):
    """Markdown lines: per setting, a table of AUROC per kind and the mean over the kinds
    (rows methods), then the means of every metric of :data:`METRICS` per setting."""
    lines = []
    for setting, block in results["settings"].items():
        kinds = list(block["columns"])
        lines += [f"### {block['label']} (AUROC %)", ""]
        if setting == "other_kind":
            lines += ["Tuning kind of each column: " + "; ".join(
                f"{k} tuned on {col['tuned_on']}" for k, col in block["columns"].items())
                + ".", ""]
        lines += ["| method | " + " | ".join(kinds) + " | mean |",
                  "|---|" + "---|" * (len(kinds) + 1)]
        for name, mean in block["mean"].items():
            cells = [fmt(block["columns"][k]["methods"][name]["auroc"], digits) for k in kinds]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {fmt(mean['auroc'], digits)} |")
        lines.append("")
    for setting, block in results["settings"].items():
        kinds = list(block["columns"])
        first = next(iter(block["columns"].values()))["methods"]
        names = [n for n, r in first.items() if "flagged" in r]
        if not names:
            continue
        lines += [f"### Flagged by `predict`, {block['label'].split(':')[0]}", "",
                  "Share of each kind's test samples that `predict` calls OoD at the detector's "
                  "own threshold (%); last column: share of the in-distribution test samples it "
                  "keeps, mean over the columns' fits.", "",
                  "| method | " + " | ".join(kinds) + " | ID kept |",
                  "|---|" + "---|" * (len(kinds) + 1)]
        for name in names:
            rows = [block["columns"][k]["methods"][name] for k in kinds]
            lines.append(f"| {name} | " + " | ".join(fmt(r["flagged"], digits) for r in rows)
                         + f" | {fmt(np.mean([r['id_kept'] for r in rows]), digits)} |")
        lines.append("")
    heads = [f"{s}: {title}" for s in results["settings"] for title in METRICS.values()]
    everything = max((b["columns"] for b in results["settings"].values()), key=len)
    lines += ["### Means over the kinds, every metric (%)", "",
              "Settings: " + "; ".join(
                  f"{s} = {b['label']}" + ("" if len(b["columns"]) == len(everything) else
                                           f" (mean over {', '.join(b['columns'])} only)")
                  for s, b in results["settings"].items()) + ".", "",
              "| method | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for name in results["fits"]:
        cells = [fmt(block["mean"][name][m], digits) for block in results["settings"].values()
                 for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines + [""]


def details(results, digits=1):
    """Markdown lines: each fit's parameters and seconds; with ``transfer``, each method's
    AUROC per tuning kind (rows) and test kind (columns)."""
    lines = ["## Fits: parameters chosen and seconds", "",
              "| method | fitted on | parameters | fit s | score s |", "|---|---|---|---|---|"]
    for name, fits in results["fits"].items():
        for tuned, f in fits.items():
            params = ", ".join(f"{k}={v}" for k, v in f["params"].items())
            lines.append(f"| {name} | {tuned} | {params} | {f['fit_s']:.1f} "
                         f"| {f['score_s']:.1f} |")
    kinds = list(results["tune_on"])
    for name, matrix in results.get("transfer", {}).items():
        lines += ["", f"## {name}: tuned on one kind (rows), tested on each (AUROC %)", "",
                  "| tuned on | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
        lines += [f"| {t} | " + " | ".join(fmt(row[k], digits) for k in kinds) + " |"
                  for t, row in matrix.items()]
    return lines + [""]
