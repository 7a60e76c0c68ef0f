"""RLlib learners that give a sharing module its optimizer: RigL and Kaleidoscope run inside RLlib.

RLlib's ``TorchLearner`` builds one optimizer per module in ``configure_optimizers_for_module``; the
SB3 families build theirs in ``_build``. Both then hand it to the method: here
:meth:`SharingRLModule.attach_optimizer <policies.rllib.module.SharingRLModule.attach_optimizer>`
moves the sparse topology's step hook onto it (RigL's drop/grow after optimizer steps) and calls the
method's ``after_build`` (Kaleidoscope's diversity term and reset). After every update the learner
gives the module its measured optimizer steps per env timestep, which converts the papers'
schedules (reset interval, training horizon) into optimizer steps.

One learner class per algorithm (:class:`SharingPPOLearner`, :class:`SharingAPPOLearner`,
:class:`SharingIMPALALearner`): the same mixin over RLlib's own torch learner.
"""

from __future__ import annotations

import math
from typing import Any

from ray.rllib.algorithms.appo.torch.appo_torch_learner import APPOTorchLearner
from ray.rllib.algorithms.impala.torch.impala_torch_learner import IMPALATorchLearner
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from policies.rllib.module import SharingRLModule

__all__ = ["SharingAPPOLearner", "SharingIMPALALearner", "SharingLearnerMixin", "SharingPPOLearner", "estimated_steps_per_timestep"]


def estimated_steps_per_timestep(config: Any, n_agents: int) -> float:
    """Optimizer steps per SB3 timestep (one agent step) that one training iteration makes, estimated.

    ``num_epochs`` passes over ``train_batch_size_per_learner`` env steps of ``n_agents`` rows each,
    in minibatches of ``minibatch_size`` rows (one step per batch without minibatches). An upper
    bound when agents die early; the learner replaces it by the measured ratio after each update.
    """
    batch = int(getattr(config, "train_batch_size_per_learner", 0) or 0)
    if batch <= 0 or n_agents <= 0:
        return 0.0
    rows = batch * n_agents
    minibatch = int(getattr(config, "minibatch_size", 0) or rows)
    epochs = int(getattr(config, "num_epochs", 1) or 1)
    return epochs * math.ceil(rows / minibatch) / rows


class SharingLearnerMixin:
    """Attaches the learner's optimizer to every :class:`SharingRLModule` and keeps its schedules."""

    _module: Any
    module: Any
    config: Any

    def configure_optimizers_for_module(self, module_id: Any, config: Any = None) -> None:
        """RLlib's optimizer, then the module's method hooks on it."""
        super().configure_optimizers_for_module(module_id, config)  # type: ignore[misc]
        module = self._module[module_id]
        if not isinstance(module, SharingRLModule):
            return
        names = list(self._module_optimizers[module_id])  # type: ignore[attr-defined]
        if len(names) != 1:
            raise ValueError(
                f"{type(self).__name__}: module {module_id!r} has optimizers {names}; a sharing module needs exactly one"
            )
        optimizer = self.get_optimizer(module_id, names[0])  # type: ignore[attr-defined]
        cfg = config if config is not None else self.config.get_config_for_module(module_id)
        estimate = estimated_steps_per_timestep(cfg, len(module.layout.agents))
        module.attach_optimizer(optimizer, estimate, int(getattr(self.config, "num_learners", 0) or 0))

    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        """RLlib's bookkeeping, then each sharing module's schedule from the measured step ratio."""
        super().after_gradient_based_update(timesteps=timesteps)  # type: ignore[misc]
        env_steps = int(timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0) or 0)
        for module in self.module._rl_modules.values():
            if isinstance(module, SharingRLModule) and env_steps > 0:
                steps = module.optimizer_steps()
                if steps > 0:
                    module.update_schedule(steps / (env_steps * len(module.layout.agents)))


class SharingPPOLearner(SharingLearnerMixin, PPOTorchLearner):
    """RLlib's PPO torch learner for sharing modules."""


class SharingAPPOLearner(SharingLearnerMixin, APPOTorchLearner):  # type: ignore[misc]  # RLlib's own bases clash
    """RLlib's APPO torch learner for sharing modules (their target networks come from ``TargetNetworkAPI``)."""


class SharingIMPALALearner(SharingLearnerMixin, IMPALATorchLearner):  # type: ignore[misc]  # RLlib's own bases clash
    """RLlib's IMPALA torch learner for sharing modules."""
