"""Demos that ship with the package, so they run from an installed wheel: ``rlkit demo digits`` and its API.

``run_digits_demo(model, seed=0, dataset="digits" | "mnist", ...)`` trains one ``nets`` model on a bundled
image data set and returns its test figures (see ``rlkit.demos.digits``). It needs the ``demo`` extra.
"""

from rlkit.demos.datasets import DATASETS
from rlkit.demos.digits import MODELS, run_digits_demo

__all__ = ["DATASETS", "MODELS", "run_digits_demo"]
