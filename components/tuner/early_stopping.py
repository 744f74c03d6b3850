"""Stopping weak trials while they train: the median rule (Katib's medianstop, Optuna's
MedianPruner, Ray Tune's MedianStoppingRule), for any tuner.

At the end of epoch e (after the first WARMUP_EPOCHS), a trial whose best objective so far is
worse than the median of the other trials' best objective up to epoch e, among at least
MIN_OTHER_TRIALS trials that reached epoch e, stops. It is scored by its best epoch like any
trial (Keras Tuner's COMPLETED), and recorded as stopped early (the epoch, in the oracle's
state and in trials.csv); its epochs count in the search's budget like any others.

The decision is the oracle's, so it is made the same way in one process, for gRPC workers and
for trials on Beam: Keras Tuner does not pass per-epoch values to its oracle (Tuner.on_epoch_end
is a no-op), so EpochReporter, a Keras callback, reports the objective at each epoch through
the one call every oracle and oracle client has, `oracle.update_trial(trial_id, metrics,
step)`, with the epoch under EPOCH_REPORT among the metrics; the oracle (OracleExtras) answers
with a trial whose status is STOPPED when the rule says so, and the callback stops training.
"""

from __future__ import annotations

import statistics
from typing import Dict, Mapping, Optional

import keras

from tfx_hypertune.components.tuner import policies, trials

TrialStatus = trials.TrialStatus

RULES = policies.TRIAL_STOPPING_RULES
NONE, MEDIAN = RULES
# Among a reported epoch's metrics: the absolute epoch (1-based), so the oracle tells an
# epoch's report from Keras Tuner's own report of a finished trial. Not a metric: the oracle
# takes it out before Keras Tuner records the metrics.
EPOCH_REPORT = 'hypertune/epoch'
# No trial stops in its first epochs: early values say little about where a model ends.
WARMUP_EPOCHS = 2
# Fewer other trials at an epoch make a median that says little.
MIN_OTHER_TRIALS = 3


def best_up_to(values: Mapping[int, float], epoch: int, direction: str) -> Optional[float]:
  """The best value of epochs up to `epoch` (None: none reported)."""
  seen = [v for e, v in values.items() if e <= epoch]
  if not seen:
    return None
  return max(seen) if direction == 'max' else min(seen)


def median_says_stop(history: Mapping[str, Mapping[int, float]], trial_id: str, epoch: int,
                     direction: str, warmup: int = WARMUP_EPOCHS,
                     min_others: int = MIN_OTHER_TRIALS) -> bool:
  """The median rule (see the module docstring). `history`: {trial id: {epoch: value}} of
  every trial's reported epochs, this one's included."""
  if epoch <= warmup:
    return False
  mine = best_up_to(history.get(trial_id, {}), epoch, direction)
  others = [best_up_to(values, epoch, direction) for other, values in history.items()
            if other != trial_id and values and max(values) >= epoch]
  others = [value for value in others if value is not None]
  if mine is None or len(others) < min_others:
    return False
  median = statistics.median(others)
  return mine < median if direction == 'max' else mine > median


class EpochReporter(keras.callbacks.Callback):
  """Reports the objective of each epoch to the oracle (see the module docstring) and stops
  training when the oracle answers STOPPED."""

  def __init__(self, oracle, trial_id: str, objective: str, initial_epoch: int = 0):
    super().__init__()
    self._oracle = oracle
    self._trial_id = trial_id
    self._objective = objective
    self._initial_epoch = int(initial_epoch or 0)
    self.stopped_at: Optional[int] = None

  def __deepcopy__(self, memo):
    # Keras Tuner deep-copies a trial's callbacks before fit: a copy would report to a copy of
    # the oracle, whose answers and records nobody reads. The one reporter goes to fit.
    return self

  def on_epoch_end(self, epoch, logs=None):
    value = (logs or {}).get(self._objective)
    if value is None:
      return
    # The step as Keras Tuner counts a trial's epochs (from its own first), the epoch as the
    # model does (from the first of a resumed parent).
    answer = self._oracle.update_trial(
        self._trial_id, {self._objective: float(value), EPOCH_REPORT: epoch + 1},
        step=epoch - self._initial_epoch)
    if getattr(answer, 'status', answer) == TrialStatus.STOPPED:
      self.model.stop_training = True
      self.stopped_at = epoch + 1


def history_of(epoch_values: Dict[str, Dict[str, float]]) -> Dict[str, Dict[int, float]]:
  """The oracle's saved per-epoch values (JSON: epochs as strings) with int epochs."""
  return {trial_id: {int(e): v for e, v in values.items()}
          for trial_id, values in epoch_values.items()}
