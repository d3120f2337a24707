"""One look for every benchmark plot: legends outside the data."""


def legend_outside(ax, **kwargs):
    """A legend to the right of ``ax``, clear of the data (save with ``bbox_inches="tight"``)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize=8, frameon=False, **kwargs)
