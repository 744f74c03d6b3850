"""What Keras Tuner does not record about a trial, recorded beside its trial.json in
trial_stats.json: the model's trainable parameters, each epoch's seconds and validation
metrics, and which way each metric is better.

Whatever model the tuner_fn builds: the callback reads the model and the epoch logs, so the
report's columns are the metrics the model reports (`val_*`), with the direction the model's
own metric objects declare (Keras metrics say `_direction` 'up' or 'down', the rule Keras's
EarlyStopping reads); Keras Tuner records any metric but the objective as 'min' when it cannot
infer it from the name.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

import keras
import numpy as np

from tfx_hypertune.components.tuner import files

VALIDATION_PREFIX = 'val_'


def trainable_parameters(model: keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def metric_directions(model: keras.Model) -> Dict[str, str]:
  """{validation metric name: 'max' | 'min'} for the model's metrics that declare a
  direction (compiled metrics are nested in a container)."""
  directions: Dict[str, str] = {}
  stack = list(model.metrics)
  while stack:
    metric = stack.pop()
    nested = getattr(metric, 'metrics', None)
    if isinstance(nested, list):
      stack.extend(m for m in nested if m is not metric)
    direction = getattr(metric, '_direction', None)
    if direction in ('up', 'down'):
      directions[VALIDATION_PREFIX + metric.name] = 'max' if direction == 'up' else 'min'
  return directions


class TrialStatsCallback(keras.callbacks.Callback):
  """Writes trainable parameters, and per epoch its seconds and every validation metric (and
  the objective, whatever its name), to trial_stats.json."""

  def __init__(self, path: str, objective: str):
    super().__init__()
    self._path = path
    self._objective = objective

  def on_train_begin(self, logs=None):
    self._stats: Dict[str, Any] = {
        'trainable_parameters': trainable_parameters(self.model),
        'epochs': [], 'epoch_seconds': [], 'metrics': {}, 'directions': {}}

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch_started = time.monotonic()

  def on_epoch_end(self, epoch, logs=None):
    logs = logs or {}
    stats = self._stats
    stats['epochs'].append(epoch + 1)  # absolute: a resumed round starts after its parent's
    stats['epoch_seconds'].append(time.monotonic() - self._epoch_started)
    recorded = stats['metrics']
    for name in sorted(logs):
      if name.startswith(VALIDATION_PREFIX) or name == self._objective:
        recorded.setdefault(name, [None] * (len(stats['epochs']) - 1))
    for name, values in recorded.items():
      values.append(float(logs[name]) if name in logs else None)
    stats['directions'].update(metric_directions(self.model))

  def on_train_end(self, logs=None):
    files.update_json(self._path, self._stats)


def built_model_stats(hypermodel, hyperparameters) -> Dict[str, Any]:
  """A trial trained without the callback (a run_trial with its own loop): the size of the
  model its hypermodel builds for the trial's values, if it has one."""
  if hypermodel is None:
    return {}
  try:
    model = hypermodel.build(hyperparameters.copy())
    return {'trainable_parameters': trainable_parameters(model)}
  except Exception:  # noqa: BLE001  # stats are optional, the trial is not
    return {}


def epoch_values(stats: Dict[str, Any], metric: str) -> Optional[list]:
  """Per-epoch values of one metric from a trial_stats.json dict (None if not recorded)."""
  return (stats.get('metrics') or {}).get(metric)
