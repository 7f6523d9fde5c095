"""Ship a trained AlphaZero agent inside the package, as `az:<game>` (see agents.alphazero.shipped).

    python scripts/ship_agent.py runs/c4 --set search=puct --notes notes.json

writes agents/alphazero/weights/<game>.pt (config and network weights only) and <game>.json (the
notes: training command, seed, measured figures; plus the source checkpoint and its counters).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agents.alphazero.shipped import WEIGHTS, export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="AlphaZero checkpoint file or run directory (its newest checkpoint)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="how the agent plays, e.g. search=puct"
    )
    parser.add_argument("--notes", help="JSON file with the training command, seed and measured figures")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="folder to write into (default: the package's)")
    args = parser.parse_args()
    notes = json.loads(Path(args.notes).read_text()) if args.notes else None
    print(export(args.checkpoint, args.set, notes, args.out))


if __name__ == "__main__":
    main()
