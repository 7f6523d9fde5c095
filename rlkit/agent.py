"""What every agent object shares: a run directory, ``learn`` on either backend, ``save``/``load``.

An agent class (``agents.dqn.DQN``, ``agents.alphazero.AlphaZero``) subclasses ``Agent`` once and
supplies its trainer (the learner side of its loop, with ``get_state``/``set_state``/``run``) and
its own ``predict``/``evaluate``. The run directory is created by the first ``learn``, after the
config and the environment were checked, so a refused start leaves nothing on disk.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from typing_extensions import Self

from rlkit.callbacks import Callback
from rlkit.checkpoints import read_checkpoint, remove_partial_writes, save_checkpoint
from rlkit.config import from_dict, replace_values, to_dict
from rlkit.errors import RlkitError, RlkitWarning
from rlkit.runs import Run
from rlkit.workers import BACKENDS

__all__ = ["Agent"]


class Agent(ABC):
    """Base of the agent objects (one level of inheritance, no hooks beyond these five).

    Subclasses set ``name`` (``dqn``), ``budget_key`` (the config key ``learn`` extends) and
    ``counter`` (the trainer attribute that counts progress), and implement ``_make_trainer``.
    """

    name: ClassVar[str]
    budget_key: ClassVar[str]
    counter: ClassVar[str]
    config_cls: ClassVar[type]

    def __init__(self, config: Any, run_dir: str | os.PathLike | None = None, runs_dir: str = "runs") -> None:
        self.config = config
        self.runs_dir = runs_dir
        self.run_name: str | None = None  # the new run's folder name (default: agent, env or game, timestamp)
        self.run: Run | None = Run.open(run_dir) if run_dir is not None else None
        self._trainer = None
        self._pending_state: dict[str, Any] | None = None  # loaded, applied when a trainer is built
        self._local_workers = None  # kept between learn calls: episodes and streams continue

    # ------------------------------------------------------------------ subclass parts
    @abstractmethod
    def _make_trainer(self, num_workers: int):
        """The learner side of this agent for ``num_workers`` workers."""

    def _budget_warnings(self, target: int) -> list[str]:
        """Messages for a budget ending at ``target`` that is legal but likely a mistake."""
        return []

    def _run_name(self) -> str:
        return f"{self.name}-{time.strftime('%Y%m%d-%H%M%S')}"

    # ------------------------------------------------------------------ learning
    @property
    def num_done(self) -> int:
        """Agent steps (DQN) or iterations (AlphaZero) trained so far."""
        if self._trainer is not None:
            return int(getattr(self._trainer, self.counter))
        return int(self._pending_counter()) if self._pending_state is not None else 0

    def _pending_counter(self) -> int:
        return self._pending_state[self.counter]

    def trainer(self, num_workers: int = 1):
        """The learner side, built on first use (and rebuilt, state carried over, for another worker count)."""
        if self._trainer is not None and getattr(self._trainer, "num_workers", num_workers) != num_workers:
            state = self._trainer_state()
            self._close_local_workers()
            self._trainer = None
            self._pending_state = state
        if self._trainer is None:
            self._trainer = self._make_trainer(num_workers)
            if self._pending_state is not None:
                self._trainer.set_state(self._pending_state)
                self._pending_state = None
        return self._trainer

    def learn(
        self,
        budget: int,
        backend: str = "local",
        num_workers: int = 2,
        address: str | None = None,
        callback: Callback | None = None,
        progress: bool = True,
        **ray_options: Any,
    ) -> Self:
        """Train ``budget`` more steps (DQN) or iterations (AlphaZero); a second call continues the run.

        :param backend: ``local`` (this process) or ``ray`` (``num_workers`` workers; ``address`` or
            ``$RAY_ADDRESS`` joins a cluster, else an embedded Ray starts).
        :param callback: ``callback(metrics) -> bool | None`` after each logged step/iteration and
            evaluation; returning False stops with a checkpoint (``rlkit.callbacks``).
        :param ray_options: further ``rlkit.backend.RayOptions`` fields (``cpus_per_worker``, ...).
        :raises RlkitError: a bad budget, backend or option (before anything is written).
        """
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget):
            raise RlkitError(f"learn budget must be a whole number >= 1, got {budget!r}")
        if budget < 1 or int(budget) != budget:
            raise RlkitError(f"learn budget must be a whole number >= 1, got {budget!r}")
        if backend not in BACKENDS:
            raise RlkitError(f"unknown backend {backend!r}; choose from: {', '.join(BACKENDS)}")
        options = None
        if backend == "ray":
            from rlkit.backend import RayOptions

            try:
                options = RayOptions(address=address, num_workers=num_workers, **ray_options)
            except TypeError as err:
                raise RlkitError(f"unknown Ray option: {err}") from None
            options.check()
        elif ray_options or address is not None:
            raise RlkitError("address and Ray options apply to backend='ray' only")
        trainer = self.trainer(options.num_workers if options is not None else 1)
        target = int(getattr(trainer, self.counter)) + int(budget)
        if target > getattr(self.config, self.budget_key):
            self.config = dataclasses.replace(self.config, **{self.budget_key: target})
            trainer.cfg = self.config
        run = self._open_run()
        for message in self._budget_warnings(target):  # after every check: a refused start warns of nothing
            warnings.warn(message, RlkitWarning, stacklevel=2)
        workers = self._local_workers if backend == "local" else None
        if backend == "local" and workers is None:
            workers = self._local_workers = trainer.local_workers()
        elif backend == "ray":
            self._close_local_workers()
        self.last_summary = trainer.run(run, target, backend, options, callback, progress, workers=workers)
        return self

    def _open_run(self) -> Run:
        """The run directory: created on the first ``learn``; ``config.json`` follows budget extensions."""
        if self.run is None:
            name = self.run_name
            if name is None:  # a default name never collides with an earlier run (two starts in one second)
                base = name = self._run_name()
                for n in range(2, 1000):
                    if not (Path(self.runs_dir) / name).exists():
                        break
                    name = f"{base}-{n}"
            self.run = Run.create(self.runs_dir, name, to_dict(self.config))
        else:
            remove_partial_writes(self.run.checkpoints_dir)
            self.run.drop_metrics_after(self.num_done)
            self.run.save_config(to_dict(self.config))
        return self.run

    def _close_local_workers(self) -> None:
        if self._local_workers is not None:
            self._local_workers.close()
            self._local_workers = None

    def _trainer_state(self) -> dict[str, Any]:
        if self._trainer is None:
            if self._pending_state is None:
                self.trainer(1)
            else:
                return self._pending_state
        if self._local_workers is not None:
            self._trainer.worker_states = self._local_workers.states()
        return self._trainer.get_state()

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write everything needed to predict or continue learning to ``path`` (one checkpoint file)."""
        return save_checkpoint(path, self._trainer_state())

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto", **overrides: Any) -> Self:
        """An agent from a checkpoint file, or from the newest readable checkpoint of a run directory
        (then ``learn`` continues that run). ``overrides`` change config keys that leave the
        architecture alone (e.g. ``eval_episodes``).

        :raises RlkitError: nothing readable there, a checkpoint of another agent, another architecture.
        """
        state, file = read_checkpoint(path, cls.name)
        config = from_dict(cls.config_cls, state["config"])
        config = replace_values(config, {"device": device, **overrides})
        run_dir = file.parent.parent if file.parent.name == "checkpoints" else None
        if run_dir is not None and not (run_dir / "config.json").is_file():
            run_dir = None
        agent = cls(config=config, run_dir=run_dir)
        agent._check_loaded(state, file)
        agent._pending_state = state
        return agent

    def _check_loaded(self, state: dict[str, Any], path: Path) -> None:
        """Refuse a checkpoint whose architecture differs from ``self.config`` (subclasses check)."""

    def __repr__(self) -> str:
        where = f", run={str(self.run.path)!r}" if self.run is not None else ""
        return f"{type(self).__name__}({self._describe()}, {self.counter}={self.num_done}{where})"

    def _describe(self) -> str:
        return ""
