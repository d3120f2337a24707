"""sklearn-fssd: Feature Space Singularity Distance out-of-distribution detection.

FSSD (Huang et al., "Feature Space Singularity for Out-of-Distribution
Detection") scores an input by how far a trained network moves its features
away from the Feature Space Singularity, the point where uniform noise lands.
"""

__version__ = "0.1.0.dev0"

from .baselines import (  # noqa: E402
    DeepEnsembleDetector,
    EnergyDetector,
    MahalanobisDetector,
    MCDropoutDetector,
    MSPDetector,
    ODINDetector,
)
from .conformal import ConformalDetector, conformal_p_values, conformal_threshold  # noqa: E402
from .detector import FSSDDetector  # noqa: E402

__all__ = [
    "ConformalDetector",
    "DeepEnsembleDetector",
    "EnergyDetector",
    "FSSDDetector",
    "MCDropoutDetector",
    "MSPDetector",
    "MahalanobisDetector",
    "ODINDetector",
    "__version__",
    "conformal_p_values",
    "conformal_threshold",
]
