"""One look for every benchmark plot: a colour *and* a line style per method, FSSD on top,
legends outside the data."""

from itertools import product

#: Colour-blind-safe colours (Okabe-Ito) and line styles; colour x style gives 28 methods.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def method_styles(names, highlight="FSSD"):
    """``name -> matplotlib keyword arguments``: no two methods look alike.

    Methods whose name starts with ``highlight`` come first in the cycle, get thicker lines
    and a higher ``zorder``, so they are drawn on top of the others.
    """
    ordered = sorted(names, key=lambda n: (not n.startswith(highlight), list(names).index(n)))
    looks = list(product(STYLES, COLOURS))
    styles = {}
    for i, name in enumerate(ordered):
        ls, colour = looks[i % len(looks)]
        on_top = name.startswith(highlight)
        styles[name] = {"color": colour, "ls": ls, "marker": MARKERS[i % len(MARKERS)],
                        "lw": 2.6 if name == highlight else 1.8 if on_top else 1.2,
                        "zorder": 12 if name == highlight else 10 if on_top else 2,
                        "label": name}
    return styles


def draw_order(names, highlight="FSSD"):
    """``names`` with the highlighted methods last (``highlight`` itself the very last), so
    they are painted over the rest."""
    return sorted(names, key=lambda n: (n.startswith(highlight), n == highlight))


def legend_outside(ax, **kwargs):
    """A legend to the right of ``ax``, clear of the data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize=8, frameon=False, **kwargs)
