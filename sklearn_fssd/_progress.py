"""Progress reporting: one clean tqdm bar per long pass, nothing when not asked.

``verbose=True`` on a detector or a training helper shows a bar for each pass
over the data that has more than one batch, and one bar over the epochs of
training (its postfix holds the losses) in place of skorch's epoch table,
whose colour escape codes litter logs that are not terminals.
``verbose >= 2`` in the training helpers adds skorch's own table and batch bar.
"""

from skorch.callbacks import Callback
from tqdm.auto import tqdm


def progress(iterable, *, total, verbose, desc):
    """``iterable`` wrapped in a tqdm bar when ``verbose`` and the pass has 2+ steps."""
    return tqdm(iterable, total=total, desc=desc, disable=not verbose or total < 2, leave=False)


class EpochBar(Callback):
    """A skorch callback: one tqdm bar over the epochs, the last losses as its postfix.

    Parameters
    ----------
    desc : str, default="training"
        The bar's label.
    """

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix(
            {key: f"{row[key]:.4f}" for key in ("train_loss", "valid_loss") if key in row},
            refresh=False,
        )
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.bar_.close()


def skorch_progress(verbose, desc="training"):
    """``(callbacks, skorch_verbose)`` for a skorch net trained at this ``verbose`` level.

    ``verbose`` True or 1: an :class:`EpochBar` and skorch kept quiet; 2 or more:
    skorch's epoch table as well; False or 0: nothing.
    """
    level = int(verbose)
    callbacks = [("epoch_bar", EpochBar(desc))] if level >= 1 else []
    return callbacks, (level if level >= 2 else 0)
