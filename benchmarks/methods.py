"""The methods every OoD benchmark compares, as :class:`benchmarks.protocol.Method` objects.

:func:`ood_methods` builds them from trained networks and the run's settings only, so every
sample a method fits on comes through the :class:`~benchmarks.protocol.Seen` argument the
protocol hands it. Without OoD data (``seen.ood_kind is None``) each detector is fitted on
``n_fit`` training samples with its library defaults (ODIN: temperature 1000 and epsilon
0.0014, the values its paper settles on; MC Dropout: the network's own dropout rates;
Mahalanobis and FSSD: no pre-processing). With OoD data, each tunes with
:func:`benchmarks._ood.search` (``GridSearchCV``) on the validation samples; a detector that
fits a layer stack fits it on the ``n_fit`` training samples against the validation OoD samples
(:meth:`benchmarks.protocol.Seen.training_against_ood`), so its in-distribution side is
estimated on as many samples as without OoD data:

- ODIN: ``temperatures`` x ``odin_eps``.
- Mahalanobis: its class Gaussians on the ``n_fit`` training samples with their classes (Lee et
  al.), its layer stack on them against the validation OoD samples with non-negative weights
  and the guard of its rule without OoD data, as FSSD's default (``combine="typical_stack"``),
  ``maha_eps`` searched on those samples;
  the layers FSSD taps by default.
- MC Dropout: ``dropout_rates`` (if given; else the network's own rates in every setting).
- FSSD: without OoD data its default rule (``combine="auto"``: per-class typicality for a
  classifier); with OoD data its default stack (``"typical_stack"``: the layers' atypicality
  weighted non-negatively, guarded by the rule without OoD data), ``fssd_eps`` searched on the
  validation samples (21 values: on the 10x larger training rows the search would cost 10x),
  the chosen detector fitted on the training rows against the validation OoD samples; FSSD
  (eps=0) the same without pre-processing; FSSD plain stack (eps=0) the
  paper's stack (``combine="stack", far_outliers=False``) on the paper's layers
  (:func:`benchmarks._ood.paper_layers`, one distance per layer), on synthetic outliers without
  OoD data; FSSD per layer (eps=0) and FSSD per channel (eps=0) FSSD (eps=0) with one distance
  per layer and per channel (``distances``; the default, ``"auto"``, takes channels for token
  sequences, layers otherwise); the FSSD network ensemble takes the epsilon FSSD chose on the
  same kind.
- MSP ("Base"), Energy, Deep Ensemble and Outlier Exposure (MSP of the OE network) use no OoD
  data: one fit serves every setting.
"""

import numpy as np

from benchmarks._ood import paper_layers, search
from benchmarks.protocol import Method

#: Grids of the methods' own papers, for inputs in [0, 1] (ODIN: Liang et al., 2018;
#: Mahalanobis: Lee et al., 2018; FSSD: Huang et al.); the dropout rates are ours.
ODIN_TEMPERATURES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
ODIN_EPSILONS = [0, 0.0005, 0.001, 0.0014, 0.002, 0.0024, 0.005, 0.01, 0.05, 0.1, 0.2]
MAHA_EPSILONS = [0, 0.0005, 0.001, 0.0014, 0.002, 0.005, 0.01]
FSSD_EPSILONS = [round(e, 2) for e in np.arange(0, 0.21, 0.01)]
DROPOUT_RATES = [0.1, 0.25, 0.5]


def ood_methods(net, cfg, seed, *, ensemble=None, oe=None):
    """name -> :class:`~benchmarks.protocol.Method`: Base, ODIN, Maha, [DE], MCD, [OE], FSSD,
    Energy, FSSD (eps=0), FSSD plain stack (eps=0), FSSD per layer (eps=0), FSSD per channel
    (eps=0)[, FSSD network ensemble]; DE and the FSSD
    network ensemble with the networks of ``ensemble`` (a list whose first is ``net``), OE with
    the network ``oe``.

    ``cfg`` holds ``device``, ``both_strands`` (optional: every detector's), ``n_jobs`` (of
    each grid search), ``cv``, ``n_fit``, the grids ``temperatures``, ``odin_eps``,
    ``maha_eps``, ``fssd_eps``, ``dropout_rates`` (empty: not tuned) and ``n_passes`` of MC
    Dropout.
    """
    from sklearn_fssd import (DeepEnsembleDetector, EnergyDetector, FSSDDetector,
                              MahalanobisDetector, MCDropoutDetector, MSPDetector, ODINDetector)
    from sklearn_fssd.features import resolve_layers

    # both strands of DNA (genome --both-strands) reach every method alike
    dev = {"device": cfg["device"], "both_strands": cfg.get("both_strands", False)}
    chosen = {}  # tuning kind -> FSSD's epsilon, which the network ensemble takes

    def fit_rows(seen):
        """The training samples fits without OoD data use (the same ones in every call)."""
        return np.random.RandomState(seed).permutation(len(seen.X_train))[: cfg["n_fit"]]

    def tuned(estimator, grid, seen, X=None, y=None, refit_on=None, **fit_params):
        X, y = (seen.X_val, seen.y_val) if X is None else (X, y)
        return search(estimator, grid, X, y, cv=cfg["cv"], seed=seed, n_jobs=cfg["n_jobs"],
                      refit_on=refit_on, **fit_params)

    def with_rule(det, params):
        """``det`` and the parameters a results file records: ``params``, the rule its fit
        took (``combine_``) and, for FSSD, the distances it read (``distances_``)."""
        read = {"distances": det.distances_} if hasattr(det, "distances_") else {}
        return det, {**params, "combine": det.combine_, **read}

    def without_ood(make_detector):
        return Method(lambda seen: (make_detector().fit(seen.X_train[fit_rows(seen)]), {}),
                      uses_ood=False)

    def odin(seen):
        det = ODINDetector(net, **dev)
        if seen.ood_kind is None:
            fitted = det.fit(seen.X_train[fit_rows(seen)])
            return fitted, {"temperature": det.temperature, "epsilon": det.epsilon}
        return tuned(det, {"temperature": cfg["temperatures"], "epsilon": cfg["odin_eps"]}, seen)

    def maha(seen):
        rows = fit_rows(seen)
        det = MahalanobisDetector(net, layers=resolve_layers(net, "auto"), **dev,
                                  random_state=seed)
        if seen.ood_kind is None:
            return (det.fit(seen.X_train[rows], class_labels=seen.y_train[rows]),
                    {"epsilon": det.epsilon})
        # its stack gets what FSSD's default has: non-negative weights (a larger distance only
        # counts against ID) and the guard of its rule without OoD data ("mean"), so a stack
        # fitted on one kind keeps flagging the others
        det.set_params(combine="typical_stack")
        X, y, c = seen.training_against_ood(rows)
        det, params = tuned(det, {"epsilon": cfg["maha_eps"]}, seen, X=X, y=y, class_labels=c)
        return with_rule(det, params)

    def mcd(seen):
        det = MCDropoutDetector(net, **dev, n_passes=cfg["n_passes"], random_state=seed)
        if seen.ood_kind is None or not cfg["dropout_rates"]:
            params = {"dropout_rate": "the network's own"}
            det.fit(seen.X_train[fit_rows(seen)])
        else:
            det, params = tuned(det, {"dropout_rate": cfg["dropout_rates"]}, seen)
        return det, {**params, "n_passes": cfg["n_passes"]}

    def fssd(seen):
        det = FSSDDetector(net, **dev, random_state=seed)
        if seen.ood_kind is None:
            return with_rule(det.fit(seen.X_train[fit_rows(seen)]), {"epsilon": det.epsilon})
        det, params = tuned(det, {"epsilon": cfg["fssd_eps"]}, seen,
                            refit_on=seen.training_against_ood(fit_rows(seen))[:2])
        chosen[seen.ood_kind] = params["epsilon"]
        return with_rule(det, params)

    def fssd_eps0(seen, model=net, epsilon=0.0, **params):
        det = FSSDDetector(model, **dev, epsilon=epsilon, random_state=seed, **params)
        if seen.ood_kind is None:
            det.fit(seen.X_train[fit_rows(seen)])
        else:
            det.fit(*seen.training_against_ood(fit_rows(seen))[:2])
        return with_rule(det, {"epsilon": epsilon})

    def fssd_networks(seen):
        epsilon = 0.0 if seen.ood_kind is None else chosen[seen.ood_kind]
        det, params = fssd_eps0(seen, ensemble, epsilon)
        return det, {**params, "n_networks": len(ensemble)}

    made = {"Base": without_ood(lambda: MSPDetector(net, **dev)), "ODIN": Method(odin),
            "Maha": Method(maha)}
    if ensemble is not None:
        made["DE"] = without_ood(lambda: DeepEnsembleDetector(ensemble, **dev))
    made["MCD"] = Method(mcd, uses_ood=bool(cfg["dropout_rates"]))
    if oe is not None:
        made["OE"] = without_ood(lambda: MSPDetector(oe, **dev))
    made.update({"FSSD": Method(fssd), "Energy": without_ood(lambda: EnergyDetector(net, **dev)),
                 "FSSD (eps=0)": Method(fssd_eps0),
                 "FSSD plain stack (eps=0)": Method(
                     lambda seen: fssd_eps0(seen, combine="stack", far_outliers=False,
                                            layers=paper_layers(net), distances="layer")),
                 **{f"FSSD per {d} (eps=0)": Method(
                     lambda seen, d=d: fssd_eps0(seen, distances=d)) for d in ("layer", "channel")}})
    if ensemble is not None:
        made["FSSD network ensemble"] = Method(fssd_networks)
    return made
