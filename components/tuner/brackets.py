"""Keras Tuner's Hyperband bracket arithmetic, reproduced so a search can say "trial N of M"
before it starts and ASHA can be given the same epoch budget. Pure arithmetic: no Keras
Tuner object is built here (plan.py and asha.py both use it)."""

from __future__ import annotations

import math
from typing import List, NamedTuple


class HyperbandRound(NamedTuple):
  iteration: int
  bracket: int
  round: int
  trials: int
  epochs: int          # `tuner/epochs`: the epoch a trial of this round trains up to
  initial_epoch: int   # where it starts (it resumes the best trial of the previous round)


def hyperband_plan(max_epochs: int, factor: int, iterations: int = 1) -> List[HyperbandRound]:
  """The rounds Keras Tuner's Hyperband oracle will run, by its own bracket arithmetic
  (keras_tuner/src/tuners/hyperband.py), so progress can say "trial N of M"."""
  num_brackets, epochs = 0, float(max_epochs)
  while epochs >= 1:
    epochs /= factor
    num_brackets += 1
  bracket0_end_size = math.ceil(1 + math.log(max_epochs, factor))
  plan = []
  for iteration in range(iterations):
    for bracket in reversed(range(num_brackets)):
      end_size = bracket0_end_size / (bracket + 1)
      for round_num in range(bracket + 1):
        plan.append(HyperbandRound(
            iteration, bracket, round_num,
            trials=math.ceil(end_size * factor ** (bracket - round_num)),
            epochs=math.ceil(max_epochs / factor ** (bracket - round_num)),
            initial_epoch=(0 if round_num == 0 else
                           math.ceil(max_epochs / factor ** (bracket - round_num + 1)))))
  return plan


def hyperband_trials(max_epochs: int, factor: int, iterations: int = 1) -> int:
  return sum(r.trials for r in hyperband_plan(max_epochs, factor, iterations))
