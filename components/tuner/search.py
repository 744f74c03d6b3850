"""The search API: what the model code's `tuner_fn` builds its Keras Tuner with.

This is the one module of the platform that the model code imports. It offers

    make_tuner(search, hypermodel, directory, seed)   a SearchTuner for search['algorithm']
    search_callbacks(search)                          EarlyStopping as the config says
    planned_trials(search), hyperband_plan(...)       how many trials a search will run
    active_values(hyperparameters)                    values without Keras Tuner bookkeeping
    training_epochs(hyperparameters_config, epochs)   what the Trainer trains for

`search` is the config's search section as a dict (algorithm, objective, max_epochs, factor,
hyperband_iterations, max_trials, early_stopping_patience, ...).

Keras Tuner is extended only through its public hooks: `Tuner.run_trial` and the trial and
search callbacks (trial stats, progress lines), and `Oracle.populate_space` (configurations
queued by warm start are served first).
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any, Dict, List, Mapping, NamedTuple, Optional

import keras
import keras_tuner
import numpy as np
from keras_tuner.src.engine import conditions as conditions_module

from tfx_hypertune.components.tuner import spec

# keras-tuner 1.4.8 left a debug `print(self.values[0])` in conditions.Parent.to_proto, which
# a parallel search's chief and workers call for every message about a conditional space:
# thousands of bare digits in the pipeline's log. A module-level `print` shadows the builtin
# for that module only.
conditions_module.print = lambda *args, **kwargs: None

# A parallel worker asks the chief for its next trial in a loop with no pause
# (BaseTuner.search); while Hyperband waits for a round to fill it answers IDLE, and the
# worker would ask again at once, thousands of times, taking CPU from the other worker.
IDLE_PAUSE_SECONDS = 0.1

# ---------------------------------------------------------------------------------------------
# The plan: how many trials a search runs.


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


HYPERBAND_ALGORITHMS = ('hyperband', 'hyperband_longest_first')


def planned_trials(search: Mapping[str, Any]) -> int:
  """Trials the configured search runs: Hyperband's plan (either order), else max_trials."""
  if search['algorithm'] in HYPERBAND_ALGORITHMS:
    return sum(r.trials for r in hyperband_plan(
        search['max_epochs'], search['factor'], search['hyperband_iterations']))
  return search['max_trials']


# ---------------------------------------------------------------------------------------------
# Hyperparameter values.


def active_values(hyperparameters: keras_tuner.HyperParameters) -> Dict[str, Any]:
  """The values the model actually used: active under their conditions (Keras Tuner's
  conditional scopes), without Keras Tuner's `tuner/...` bookkeeping."""
  return {name: value for name, value in hyperparameters.values.items()
          if not name.startswith('tuner/') and _is_active(hyperparameters, name)}


def active_values_of_config(config: Mapping[str, Any]) -> Dict[str, Any]:
  """active_values of a HyperParameters.get_config() dict (trial.json, the Tuner's output)."""
  return active_values(keras_tuner.HyperParameters.from_config(dict(config)))


def _is_active(hyperparameters: keras_tuner.HyperParameters, name: str) -> bool:
  try:
    return hyperparameters.is_active(name)
  except (KeyError, ValueError):  # a value without a declared hyperparameter: keep it
    return True


def training_epochs(hyperparameters_config: Mapping[str, Any],
                    configured: Optional[int] = None) -> int:
  """Epochs for the final model: `configured` if set, else what the best trial trained up to
  (Hyperband's `tuner/epochs`), else the max_epochs the search really used."""
  budget = hyperparameters_config.get(spec.BUDGET_FIELD) or {}
  values = hyperparameters_config.get('values') or {}
  epochs = configured or values.get('tuner/epochs') or budget.get(spec.MAX_EPOCHS_KEY)
  if not epochs:
    raise ValueError('best hyperparameters: no tuner/epochs and no search budget; '
                     'set training.epochs')
  return int(epochs)


def best_epochs(hyperparameters_config: Mapping[str, Any]) -> Optional[int]:
  """The epochs at which the best trial scored its best, if the search recorded it."""
  budget = hyperparameters_config.get(spec.BUDGET_FIELD) or {}
  value = budget.get(spec.BEST_EPOCHS_KEY)
  return int(value) if value else None


# ---------------------------------------------------------------------------------------------
# Per-trial statistics that Keras Tuner does not record.


class TrialStatsCallback(keras.callbacks.Callback):
  """Writes the model's trainable parameters and hidden units, and per epoch its seconds and
  validation metrics, to trial_stats.json beside Keras Tuner's trial.json."""

  def __init__(self, path: str, objective: str):
    super().__init__()
    self._path = path
    self._objective = objective

  def on_train_begin(self, logs=None):
    self._stats = {
        'trainable_parameters': int(sum(np.prod(w.shape) for w in self.model.trainable_weights)),
        'hidden_units': hidden_units(self.model),
        'epochs': [], 'epoch_seconds': [], 'val_accuracy': [], 'val_loss': []}
    if self._objective not in self._stats:
      self._stats[self._objective] = []

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch_started = time.monotonic()

  def on_epoch_end(self, epoch, logs=None):
    logs = logs or {}
    self._stats['epochs'].append(epoch + 1)  # absolute: a Hyperband round resumes its parent
    self._stats['epoch_seconds'].append(time.monotonic() - self._epoch_started)
    for name in {'val_accuracy', 'val_loss', self._objective}:
      self._stats[name].append(float(logs[name]) if name in logs else None)

  def on_train_end(self, logs=None):
    spec.update_json(self._path, self._stats)


def hidden_units(model: keras.Model) -> int:
  """Units of every Dense layer but the output: how wide a model is, whatever its code."""
  dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
  return int(sum(layer.units for layer in dense[:-1]))


# ---------------------------------------------------------------------------------------------
# Oracles: Keras Tuner's four, able to serve queued configurations first (warm start).


class _QueueFirst:
  """Mixin over a Keras Tuner oracle: a fresh trial (not a Hyperband promotion) takes the next
  queued configuration instead of the one the algorithm drew."""

  def enqueue(self, configurations: List[Dict[str, Any]]) -> None:
    self._queued = [dict(values) for values in configurations]

  def populate_space(self, trial_id):
    response = super().populate_space(trial_id)
    queued = getattr(self, '_queued', None)
    values = response.get('values')
    if queued and response.get('status') == 'RUNNING' and values is not None and (
        'tuner/trial_id' not in values):
      response = {**response, 'values': {**values, **queued.pop(0)}}
    return response


class HyperbandOracle(_QueueFirst, keras_tuner.oracles.HyperbandOracle):
  pass


class LongestFirstHyperbandOracle(HyperbandOracle):
  """Hyperband with its brackets in the opposite order: the bracket of full-length trials
  first, the most aggressive one (many short trials, successive halving) last.

  Keras Tuner starts with the most aggressive bracket, so a good configuration is not trained
  to max_epochs until about half-way through the search; random search trains every trial to
  full length and reaches a good model sooner on cheap problems (BENCHMARKS.md, "Search
  efficiency"). Hyperband's brackets are independent, so their order changes when good
  models appear, not which trials run: the same brackets, rounds, sizes and epochs.

  Done by mirroring Keras Tuner's bracket number (it counts down from the most aggressive
  bracket): its bracket b runs the plan of bracket (brackets - 1 - b). `tuner/bracket` in a
  trial's values is the real one (0: full-length trials).
  """

  def _mirror(self, bracket_num):
    return self._get_num_brackets() - 1 - bracket_num

  def _get_size(self, bracket_num, round_num):
    return super()._get_size(self._mirror(bracket_num), round_num)

  def _get_epochs(self, bracket_num, round_num):
    return super()._get_epochs(self._mirror(bracket_num), round_num)

  def _get_num_rounds(self, bracket_num):
    return super()._get_num_rounds(self._mirror(bracket_num))

  def populate_space(self, trial_id):
    response = super().populate_space(trial_id)
    values = response.get('values')
    if values and 'tuner/bracket' in values:
      response = {**response, 'values': {
          **values, 'tuner/bracket': self._mirror(values['tuner/bracket'])}}
    return response


class RandomSearchOracle(_QueueFirst, keras_tuner.oracles.RandomSearchOracle):
  pass


class BayesianOptimizationOracle(_QueueFirst, keras_tuner.oracles.BayesianOptimizationOracle):
  pass


class GridSearchOracle(keras_tuner.oracles.GridSearchOracle):
  """Grid search tries every configuration anyway: nothing to queue."""

  def enqueue(self, configurations: List[Dict[str, Any]]) -> None:
    del configurations


def make_oracle(search: Mapping[str, Any], seed: int) -> keras_tuner.Oracle:
  objective = keras_tuner.Objective(search['objective'],
                                    spec.objective_direction(search['objective']))
  if search['algorithm'] in HYPERBAND_ALGORITHMS:
    oracle_class = (HyperbandOracle if search['algorithm'] == 'hyperband'
                    else LongestFirstHyperbandOracle)
    return oracle_class(objective=objective, max_epochs=search['max_epochs'],
                        factor=search['factor'],
                        hyperband_iterations=search['hyperband_iterations'], seed=seed)
  oracle_class = {'random': RandomSearchOracle, 'bayesian': BayesianOptimizationOracle,
                  'grid': GridSearchOracle}[search['algorithm']]
  return oracle_class(objective=objective, max_trials=search['max_trials'], seed=seed)


# ---------------------------------------------------------------------------------------------
# The tuner.


class SearchTuner(keras_tuner.Hyperband):
  """One tuner for every oracle, with per-trial stats and a progress line per trial.

  Keras Tuner's Hyperband tuner adds two things to the base Tuner, both keyed on the
  `tuner/...` values only a Hyperband oracle sets, so inert under the other oracles: a round
  trains up to `tuner/epochs`, resuming its parent trial's checkpoint.
  """

  def __init__(self, oracle: keras_tuner.Oracle, hypermodel, planned: int, **kwargs):
    # keras_tuner.Hyperband.__init__ only builds a HyperbandOracle; ours comes built.
    keras_tuner.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)
    self.planned_trials = planned

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
    trials = self.oracle.trials if isinstance(self.oracle, keras_tuner.Oracle) else {}
    self._finished = sum(1 for t in trials.values() if t.status == 'COMPLETED')

  def pre_create_trial(self):
    super().pre_create_trial()
    if getattr(self, '_asked_without_trial', False):  # the last request was answered IDLE
      time.sleep(IDLE_PAUSE_SECONDS)
    self._asked_without_trial = True

  def run_trial(self, trial, *args, **kwargs):
    stats = spec.join(self.get_trial_dir(trial.trial_id), spec.TRIAL_STATS_FILE)
    kwargs['callbacks'] = list(kwargs.get('callbacks') or []) + [
        TrialStatsCallback(stats, self.oracle.objective.name)]
    return super().run_trial(trial, *args, **kwargs)

  def on_trial_begin(self, trial):
    super().on_trial_begin(trial)
    self._asked_without_trial = False
    self._trial_started = time.monotonic()

  def on_trial_end(self, trial):
    spec.update_json(spec.join(self.get_trial_dir(trial.trial_id), spec.TRIAL_STATS_FILE),
                     {'trial_seconds': time.monotonic() - self._trial_started,
                      'tuner_id': self.tuner_id})
    super().on_trial_end(trial)
    self._finished += 1
    print(progress_line(self._finished, self.planned_trials, self.oracle.objective.name,
                        trial, time.monotonic() - self._search_started), flush=True)


def progress_line(done: int, planned: int, objective: str, trial, elapsed: float) -> str:
  """`[Tuner  12.3s] trial 4 of ~30: val_accuracy=0.9512 epochs=2 {...}`"""
  values = {k: round(v, 6) if isinstance(v, float) else v
            for k, v in active_values(trial.hyperparameters).items()}
  epochs = trial.hyperparameters.values.get('tuner/epochs')
  score = trial.score if trial.score is not None else float('nan')
  return (f'  [Tuner {elapsed:6.1f}s] trial {done} of ~{planned}: {objective}={score:.4f}'
          f'{f" epochs={epochs}" if epochs else ""} {values}')


def make_tuner(search: Mapping[str, Any], hypermodel, directory: str, seed: int) -> SearchTuner:
  """A tuner of the configured algorithm, writing its trials under `directory`."""
  return SearchTuner(make_oracle(search, seed), hypermodel, planned_trials(search),
                     directory=directory, project_name=spec.TRIALS_PROJECT, overwrite=False)


def search_callbacks(search: Mapping[str, Any]) -> List[keras.callbacks.Callback]:
  return [keras.callbacks.EarlyStopping(
      monitor='val_loss', patience=search['early_stopping_patience'])]


def fit_kwargs(search: Mapping[str, Any], train, validation) -> Dict[str, Any]:
  """The arguments of tuner.search(): Hyperband sets each round's epochs itself."""
  kwargs = {'x': train, 'validation_data': validation,
            'callbacks': search_callbacks(search), 'verbose': 0}
  if search['algorithm'] not in HYPERBAND_ALGORITHMS:
    kwargs['epochs'] = search['max_epochs']
  return kwargs
