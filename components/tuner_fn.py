"""tuner_fn: the Keras Tuner search, configured entirely from the pipeline config.

The Tuner component passes the config's search section in `fn_args.custom_config`; this module
turns it into a Keras Tuner (Hyperband by default) over `model.build_model`.
"""

from __future__ import annotations

import functools
import gc
import json
import math
import os
import time
from typing import Any, Dict, List, Mapping, NamedTuple

import keras
import keras_tuner
import numpy as np
from tfx.components.tuner.component import TunerFnResult

from components import datasets, model

TRIALS_PROJECT = 'trials'  # Keras Tuner's project folder inside the search directory


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


def planned_trials(search: Mapping[str, Any]) -> int:
  if search['algorithm'] == 'hyperband':
    return sum(r.trials for r in hyperband_plan(
        search['max_epochs'], search['factor'], search['hyperband_iterations']))
  return search['max_trials']


TRIAL_STATS_FILE = 'trial_stats.json'


class TrialStatsCallback(keras.callbacks.Callback):
  """Writes what the trial report needs and Keras Tuner does not record: the model's trainable
  parameters and the seconds each epoch took."""

  def __init__(self, path: str):
    super().__init__()
    self._path = path

  def on_train_begin(self, logs=None):
    self._stats = {
        'trainable_parameters': int(sum(np.prod(w.shape) for w in self.model.trainable_weights)),
        'epochs': [], 'epoch_seconds': [], 'val_accuracy': [], 'val_loss': []}

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch_started = time.monotonic()

  def on_epoch_end(self, epoch, logs=None):
    logs = logs or {}
    self._stats['epochs'].append(epoch + 1)  # absolute: a Hyperband round resumes its parent
    self._stats['epoch_seconds'].append(time.monotonic() - self._epoch_started)
    for name in ('val_accuracy', 'val_loss'):
      self._stats[name].append(float(logs[name]) if name in logs else None)

  def on_train_end(self, logs=None):
    _update_json(self._path, self._stats)


def _update_json(path: str, values: Dict[str, Any]) -> None:
  data = {}
  if os.path.isfile(path):
    with open(path) as f:
      data = json.load(f)
  data.update(values)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w') as f:
    json.dump(data, f)


class _ProgressMixin:
  """Records per-trial stats and prints one line per finished trial: N of M, its score, its
  values, elapsed time."""

  planned: int = 0

  def on_search_begin(self):
    super().on_search_begin()
    # Keras Tuner clears the Keras session before every model build, and Keras 3's
    # clear_session() runs a full gc.collect(): with TensorFlow and TFX loaded that walked
    # every live object, about 0.5 s, twice per trial, most of a trial's cost outside its
    # epochs (bench/search_efficiency.py). Freezing what exists now (modules, graphs, data)
    # takes it out of those collections; it was never garbage.
    gc.freeze()
    self._search_started = time.monotonic()
    # A parallel worker's oracle is an OracleClient, which has no trials: it counts its own.
    trials = getattr(self.oracle, 'trials', {})
    self._finished = sum(1 for t in trials.values() if t.status == 'COMPLETED')

  def run_trial(self, trial, *args, **kwargs):
    stats = os.path.join(self.get_trial_dir(trial.trial_id), TRIAL_STATS_FILE)
    kwargs['callbacks'] = list(kwargs.get('callbacks') or []) + [TrialStatsCallback(stats)]
    return super().run_trial(trial, *args, **kwargs)

  def on_trial_begin(self, trial):
    super().on_trial_begin(trial)
    self._trial_started = time.monotonic()

  def on_trial_end(self, trial):
    _update_json(os.path.join(self.get_trial_dir(trial.trial_id), TRIAL_STATS_FILE),
                 {'trial_seconds': time.monotonic() - self._trial_started,
                  'tuner_id': self.tuner_id})
    super().on_trial_end(trial)
    self._finished += 1
    values = {k: _short(v) for k, v in
              model.active_hyperparameters(trial.hyperparameters.values).items()}
    epochs = trial.hyperparameters.values.get('tuner/epochs')
    elapsed = time.monotonic() - self._search_started
    score = trial.score if trial.score is not None else float('nan')
    print(f'  [Tuner {elapsed:6.1f}s] trial {self._finished} of ~{self.planned}: '
          f'{self.oracle.objective.name}={score:.4f}'
          f'{f" epochs={epochs}" if epochs else ""} {values}', flush=True)


def _short(value: Any) -> Any:
  return round(value, 6) if isinstance(value, float) else value


_TUNERS = {
    'hyperband': keras_tuner.Hyperband,
    'random': keras_tuner.RandomSearch,
    'bayesian': keras_tuner.BayesianOptimization,
    'grid': keras_tuner.GridSearch,
}


@functools.lru_cache(maxsize=None)
def _progress_class(algorithm: str):
  base = _TUNERS[algorithm]
  return type(f'Progress{base.__name__}', (_ProgressMixin, base), {})


def make_tuner(search: Mapping[str, Any], hypermodel, directory: str, seed: int):
  """A Keras Tuner of the configured algorithm, writing its trials under `directory`."""
  algorithm = search['algorithm']
  objective = keras_tuner.Objective(
      search['objective'], 'max' if search['objective'] == 'val_accuracy' else 'min')
  common = dict(hypermodel=hypermodel, objective=objective, directory=directory,
                project_name=TRIALS_PROJECT, seed=seed, overwrite=False)
  if algorithm == 'hyperband':
    algorithm_args = dict(max_epochs=search['max_epochs'], factor=search['factor'],
                          hyperband_iterations=search['hyperband_iterations'])
  else:
    algorithm_args = dict(max_trials=search['max_trials'])
  tuner = _progress_class(algorithm)(**common, **algorithm_args)
  tuner.planned = planned_trials(search)
  return tuner


def search_callbacks(search: Mapping[str, Any]) -> List[keras.callbacks.Callback]:
  return [keras.callbacks.EarlyStopping(
      monitor='val_loss', patience=search['early_stopping_patience'])]


def tuner_fn(fn_args) -> TunerFnResult:
  """Builds the tuner and the search arguments (TFX Tuner's user function)."""
  prepared = datasets.prepare(fn_args)
  search = prepared.search
  hypermodel = functools.partial(model.build_model, inputs=prepared.inputs,
                                 space=model.space_by_name(search['space']))
  tuner = make_tuner(search, hypermodel, fn_args.working_dir, prepared.seed)
  fit_kwargs = {
      'x': prepared.train,
      'validation_data': prepared.eval,
      'callbacks': search_callbacks(search),
      'verbose': 0,
  }
  if search['algorithm'] != 'hyperband':
    fit_kwargs['epochs'] = search['max_epochs']
  return TunerFnResult(tuner=tuner, fit_kwargs=fit_kwargs)
