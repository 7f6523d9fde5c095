"""Train a DQN-family agent from Python, then evaluate it: the library API, not the CLI.

    python scripts/train_dqn.py --preset rainbow --env CartPole-v1 --steps 50000 --json
    python scripts/train_dqn.py --preset dqn --env ALE/Pong-v5 --steps 2000000 --set num_envs=8

Optionally pretrains a denoising autoencoder on random-play observations first and starts the
Q-network's torso from it (``--pretrain dae``).
"""

from __future__ import annotations

import argparse
import json

from agents import dqn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="rainbow", choices=sorted(dqn.PRESETS))
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=50_000, help="agent steps to train")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pretrain", choices=["ae", "dae", "dbn"], help="pretrain the torso on random play first")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    parser.add_argument("--runs", default="runs", help="folder that receives the run directory")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()

    overrides = [f"total_steps={args.steps}", f"seed={args.seed}", *args.set]
    run_name = f"{args.preset}-{args.env.replace('/', '_')}-seed{args.seed}"
    if args.pretrain:
        torso = dqn.pretrain(args.env, f"{args.runs}/{run_name}-{args.pretrain}.pt", kind=args.pretrain, seed=args.seed)
        overrides.append(f"pretrained_torso={torso['path']}")
    model = dqn.DQN(config=dqn.make_config(args.preset, args.env, overrides), runs_dir=args.runs)
    model.run_name = run_name
    model.learn(args.steps)
    evaluation = model.evaluate(episodes=20, seed=args.seed + 1)
    result = {"run": str(model.run.path), "train": model.last_summary, "eval": evaluation}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
