"""Rectified-flow (flow matching) sampling with Euler steps, for a model that predicts the clean sample.

Noise path: x_t = (1 - t) * x0 + t * noise, t from 1 (pure noise) to 0 (data). The velocity along it is
dx/dt = noise - x0; given the model's x0_hat at (x_t, t), noise_hat = (x_t - (1 - t) * x0_hat) / t, so
v = (x_t - x0_hat) / t and one Euler step to t' is x_t' = x_t + (t' - t) * v
= x0_hat + (t' / t) * (x_t - x0_hat). The last step (t' = 0) returns x0_hat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FlowEulerConfig:
    steps: int = 12  # Euler steps from t = 1 to t = 0
    shift: float = 4.0  # time shift (SD3): > 1 spends more steps at high noise, where layout is decided

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.shift <= 0:
            raise ValueError(f"shift must be positive, got {self.shift}")


def shift_time(t: torch.Tensor, shift: float) -> torch.Tensor:
    """t' = s t / (1 + (s - 1) t): maps [0, 1] onto itself, pushing times towards 1 (more noise) for s > 1.

    A video token averages many noisy pixels (8 x 8 x 4 frames x 3), so its mean colour is still readable at
    noise levels where single pixels are not; the shift trains and samples more at the high noise where the
    model must decide the layout from the text rather than from each token's own noise."""
    return shift * t / (1 + (shift - 1) * t)


def timesteps(config: FlowEulerConfig) -> torch.Tensor:
    """(steps + 1,) decreasing times from 1 to 0, shifted (``shift_time``)."""
    t = torch.linspace(1.0, 0.0, config.steps + 1, dtype=torch.float64)
    return shift_time(t, config.shift).float()


def sample(
    predict_x0: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    noise: torch.Tensor,
    config: FlowEulerConfig,
    after_step: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Integrate from ``noise`` (t = 1) to a sample (t = 0).

    ``predict_x0(x_t, t)`` takes the batch and a (B,) time tensor; ``after_step(done)`` runs after each step
    (``done`` = steps finished), where a caller reports progress or raises to stop.
    """
    times = timesteps(config)
    x = noise
    for index in range(config.steps):
        t, t_next = times[index], times[index + 1]
        x0_hat = predict_x0(x, t.expand(x.shape[0]))
        x = x0_hat + (t_next / t) * (x - x0_hat)
        if after_step is not None:
            after_step(index + 1)
    return x
