"""Docstring parts that several functions share, written once and filled in by :func:`fill_doc`.

It imports nothing, so any module of the package may use it.
"""

#: The ``X`` of a method that scores samples, up to its Returns heading
#: (for methods of a class: the lines after the first are indented 8 spaces).
SCORING_X = """\
Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------"""


def fill_doc(**parts):
    """Decorator: replace each ``{name}`` in the docstring by ``parts[name]``.

    ``str.replace`` rather than ``str.format``, so the other braces of a
    docstring (``{+1, -1}``) need no escaping.
    """

    def decorate(obj):
        if obj.__doc__:  # None under python -OO
            for name, text in parts.items():
                obj.__doc__ = obj.__doc__.replace("{" + name + "}", text)
        return obj

    return decorate


#: The ``X`` and the start of the ``y`` of a detector's ``fit``, up to the
#: sentence on what the labels do, which each detector writes after it.
FIT_X_Y = """\
X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Tables, images ``(N, C, H, W)`` or token sequences ``(N, L)`` of
            integers. Without ``y``: in-distribution samples. With ``y``:
            labelled validation samples.
        y : array-like of shape (n_samples,) with values in {+1, -1}, optional
            +1 = in-distribution, -1 = out-of-distribution."""


#: The data of the Examples that train a small MLP (module-level docstrings:
#: every line indented 4 spaces).
EXAMPLE_DATA = """\
    >>> import numpy as np
    >>> from sklearn_fssd.models import MLP
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")"""
