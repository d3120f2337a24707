"""Order of the gallery examples: a story from first use to comparisons.

Referenced by name from ``conf.py`` (sphinx-gallery accepts a dotted path),
so the Sphinx configuration stays picklable.
"""

ORDER = [
    "plot_quickstart.py",
    "plot_feature_space_singularity.py",
    "plot_layer_histograms.py",
    "plot_grid_search_epsilon.py",
    "plot_pyod_face.py",
    "plot_compare_baselines.py",
]


class ExampleOrder:
    """Sort key: the position in ``ORDER``; examples not listed come last, by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in ORDER:
            return (ORDER.index(filename), filename)
        return (len(ORDER), filename)

    def __repr__(self):
        return f"<{type(self).__name__}>"
