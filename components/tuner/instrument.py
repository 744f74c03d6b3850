"""What the Tuner adds to any Keras Tuner tuner that a tuner_fn returns.

The executor cannot ask a user's tuner_fn for a special tuner class, so it takes the tuner it
is given (RandomSearch, Hyperband, BayesianOptimization, GridSearch, a subclass with its own
`run_trial`) and mixes `Instrumented` into that object's class, through Keras Tuner's public
hooks only:

- `run_trial`: a Keras callback writes trial_stats.json (trainable parameters, seconds and
  validation metrics per epoch) beside Keras Tuner's trial.json; a `run_trial` that never calls
  `fit` gets its parameter count from `hypermodel.build` in `on_trial_end` instead;
- `on_trial_begin` / `on_trial_end`: trial seconds, the worker, one progress line per trial;
- `on_search_begin`: gc.freeze (Keras clears its session, with a full collection, per trial);
- `pre_create_trial`: a pause after an IDLE answer (a parallel worker asks in a busy loop).

The oracle gets `OracleExtras` the same way (warm start: queued configurations first, kept in
the oracle's saved state). The search budget the Tuner component was given (`max_epochs`,
`max_trials`, runtime parameters on Kubeflow) is applied here too, where Keras Tuner makes it
public: `oracle.max_trials`, and the `epochs` of `fit_kwargs`.
"""

from __future__ import annotations

import gc
import inspect
import math
import time
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

import keras
import keras_tuner
import numpy as np

from tfx.components.util import udf_utils

from tfx_hypertune.components.tuner import keras_tuner_private, progress, spec, warm_pool
from tfx_hypertune.components.tuner.hyperparameters import active_values  # noqa: F401  (re-exported)

keras_tuner_private.quiet_trial_tracebacks()

# A parallel worker asks the chief for its next trial in a loop with no pause
# (BaseTuner.search); while Hyperband waits for a round to fill it answers IDLE, and the
# worker would ask again at once, thousands of times, taking CPU from the other worker.
IDLE_PAUSE_SECONDS = 0.1

# The budget keys the executor adds to fn_args.custom_config when the component was given
# them, for a tuner_fn that builds its oracle from them (Hyperband's max_epochs can only be
# given to its constructor).
BUDGET_KEYS = (spec.MAX_EPOCHS_KEY, spec.MAX_TRIALS_KEY)


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


def hyperband_trials(max_epochs: int, factor: int, iterations: int = 1) -> int:
  return sum(r.trials for r in hyperband_plan(max_epochs, factor, iterations))


def planned_trials(oracle) -> Optional[int]:
  """Trials the oracle will run: Hyperband's plan, else max_trials (None: not known)."""
  if isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
    iterations = oracle.hyperband_iterations
    return hyperband_trials(oracle.max_epochs, oracle.factor,
                            1 if iterations == float('inf') else int(iterations))
  return getattr(oracle, 'max_trials', None)


def final_epochs(oracle) -> Optional[int]:
  """The most epochs a trial of this oracle trains, when trials differ in length (Hyperband:
  `max_epochs`; a trial's own count is its `tuner/epochs`); None when every trial trains as
  long as the others."""
  if isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
    return int(oracle.max_epochs)
  return None


def budget_of(oracle, fit_kwargs: Mapping[str, Any]) -> Dict[str, Optional[int]]:
  """The budget a search really ran with, for the Trainer (best_hyperparameters.txt)."""
  max_epochs = (oracle.max_epochs if isinstance(oracle, keras_tuner.oracles.HyperbandOracle)
                else fit_kwargs.get('epochs'))
  return {spec.MAX_EPOCHS_KEY: max_epochs, spec.MAX_TRIALS_KEY: getattr(oracle, 'max_trials', None)}


def apply_budget(tuner, fit_kwargs: Dict[str, Any], budget: Mapping[str, Any]) -> Dict[str, Any]:
  """The component's max_epochs / max_trials applied to the tuner tuner_fn built; returns the
  fit_kwargs to search with. A Hyperband oracle must be built with them (its max_epochs shapes
  its brackets when it is made): a mismatch stops in one line rather than search another
  budget than the one asked for."""
  oracle, fit_kwargs = tuner.oracle, dict(fit_kwargs)
  max_epochs, max_trials = (budget.get(key) for key in BUDGET_KEYS)
  if isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
    if max_epochs is not None and oracle.max_epochs != max_epochs:
      raise ValueError(
          f'max_epochs={max_epochs}: the tuner_fn built a Hyperband oracle with max_epochs='
          f'{oracle.max_epochs}; build it from fn_args.custom_config["max_epochs"]')
    return fit_kwargs
  if max_epochs is not None:
    if not _takes_argument(tuner.run_trial, 'epochs'):
      raise ValueError(f'max_epochs={max_epochs}: the tuner\'s run_trial takes no epochs '
                       f'argument; size the search in tuner_fn instead')
    fit_kwargs['epochs'] = max_epochs
  if max_trials is not None and hasattr(oracle, 'max_trials'):
    oracle.max_trials = max_trials
  return fit_kwargs


# ---------------------------------------------------------------------------------------------
# Per-trial statistics that Keras Tuner does not record.


def trainable_parameters(model: keras.Model) -> int:
  return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def hidden_units(model: keras.Model) -> int:
  """Units of every Dense layer but the output: how wide a model is, whatever its code."""
  dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
  return int(sum(layer.units for layer in dense[:-1]))


class TrialStatsCallback(keras.callbacks.Callback):
  """Writes the model's trainable parameters and hidden units, and per epoch its seconds and
  validation metrics, to trial_stats.json beside Keras Tuner's trial.json."""

  def __init__(self, path: str, objective: str):
    super().__init__()
    self._path = path
    self._objective = objective

  def on_train_begin(self, logs=None):
    self._stats = {
        'trainable_parameters': trainable_parameters(self.model),
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


# ---------------------------------------------------------------------------------------------
# The tuner and oracle mixins.


class Instrumented:
  """Mixed into any keras_tuner.Tuner (see the module docstring). Every override calls
  Keras Tuner's own first or last, so the tuner's behaviour is its own."""

  def on_search_begin(self):
    super().on_search_begin()
    # Keras Tuner clears the Keras session before every model build, and Keras 3's
    # clear_session() runs a full gc.collect(): with TensorFlow and TFX loaded that walked
    # every live object, about 0.5 s, twice per trial (bench/search_efficiency.py). Freezing
    # what exists now (modules, graphs, data) takes it out of those collections.
    gc.freeze()
    self._search_started = time.monotonic()
    # A parallel worker's oracle is an OracleClient, which has no trials: it counts its own.
    oracle = self.oracle
    self._finished = len(oracle.completed_trials()) if isinstance(oracle, OracleExtras) else 0

  def pre_create_trial(self):
    super().pre_create_trial()
    if getattr(self, '_asked_without_trial', False):  # the last request was answered IDLE
      time.sleep(IDLE_PAUSE_SECONDS)
    self._asked_without_trial = True

  def run_trial(self, trial, *args, **kwargs):
    # Keras Tuner's run_trial passes callbacks on to fit; a user's own run_trial (a custom
    # training loop) may take no such argument, and then gets none.
    if _takes_argument(super().run_trial, 'callbacks'):
      kwargs['callbacks'] = list(kwargs.get('callbacks') or []) + [
          TrialStatsCallback(self._stats_path(trial), self.oracle.objective.name)]
    return super().run_trial(trial, *args, **kwargs)

  def on_trial_begin(self, trial):
    super().on_trial_begin(trial)
    self._asked_without_trial = False
    self._trial_started = time.monotonic()

  def on_trial_end(self, trial):
    stats = {'trial_seconds': time.monotonic() - self._trial_started,
             'tuner_id': self.tuner_id, 'worker': warm_pool.process_name()}
    if not spec.read_json(self._stats_path(trial), default={}).get('trainable_parameters'):
      stats.update(self._built_model_stats(trial))
    spec.update_json(self._stats_path(trial), stats)
    error_log = progress.write_error_log(self.get_trial_dir(trial.trial_id), trial)
    super().on_trial_end(trial)
    self._finished += 1
    print(progress.trial_line(self._finished, planned_trials(self.oracle)
                              if isinstance(self.oracle, keras_tuner.Oracle) else None,
                              self.oracle.objective.name, trial,
                              time.monotonic() - self._search_started, error_log), flush=True)

  def _stats_path(self, trial) -> str:
    return spec.join(self.get_trial_dir(trial.trial_id), spec.TRIAL_STATS_FILE)

  def _built_model_stats(self, trial) -> Dict[str, Any]:
    """A run_trial that trained without our callback (its own loop): the size of the model
    its hypermodel builds for the trial's values, if it has one."""
    if getattr(self, 'hypermodel', None) is None:
      return {}
    try:
      model = self.hypermodel.build(trial.hyperparameters.copy())
      return {'trainable_parameters': trainable_parameters(model),
              'hidden_units': hidden_units(model)}
    except Exception:  # pylint: disable=broad-except  (stats are optional, the trial is not)
      return {}


def _takes_argument(method, name: str) -> bool:
  parameters = inspect.signature(method).parameters.values()
  return any(p.name == name or p.kind == p.VAR_KEYWORD for p in parameters)


class OracleExtras:
  """Mixed into an oracle:
  - warm start: a fresh trial (not a Hyperband promotion) takes the next queued configuration
    instead of the one the algorithm drew (not for grid search, which serves every
    configuration anyway). The queue is part of the oracle's saved state, so a search that dies
    during warm start resumes with the rest of it;
  - that state is written to a temporary file and renamed into place, so a kill never leaves
    a truncated oracle.json (Keras Tuner writes it in place);
  - reads and changes from outside Keras Tuner's gRPC servicer (parallel.py's watcher thread)
    take the oracle's own lock (keras_tuner.synchronized), as its servicer's calls do;
  - a clock (the Tuner's `max_minutes`): no trial starts that would end after the deadline if
    it took as long as the longest trial so far (the first trial always starts); running
    trials finish, and the search then ends with what completed. Each completed trial's wall
    time (create_trial to end_trial) is kept in the saved state, so a resumed search judges by
    the durations of its earlier runs too."""

  @property
  def accepts_queue(self) -> bool:
    return not isinstance(self, keras_tuner.oracles.GridSearchOracle)

  @keras_tuner.synchronized
  def completed_trials(self) -> List[Any]:
    return [t for t in self.trials.values() if spec.is_completed(t.status)]

  @keras_tuner.synchronized
  def end_trial_of_dead_worker(self, tuner_id: str, message: str) -> None:
    """Ends a dead worker's ongoing trial as FAILED and forgets the worker."""
    trial = self.ongoing_trials.get(tuner_id)
    if trial is not None:
      trial.status = 'FAILED'
      trial.message = message
      self.end_trial(trial)
    self.tuner_ids.discard(tuner_id)

  @keras_tuner.synchronized
  def save(self):
    path = getattr(self, 'state_file', None)
    if path is None:  # not instrumented yet (the tuner is being built): Keras Tuner's own
      return super().save()
    spec.write_json(path, self.get_state())

  def enqueue(self, configurations: List[Dict[str, Any]]) -> None:
    if self.accepts_queue:
      self.queued = [dict(values) for values in configurations]

  def start_clock(self, seconds: Optional[float]) -> None:
    """From now on, no trial starts that is expected to end more than `seconds` from now;
    None: no clock."""
    self.clock_started = time.time()
    self.deadline = None if seconds is None else self.clock_started + seconds
    self.stopped_by_clock = False

  def expected_trial_seconds(self) -> float:
    """The longest completed trial's wall time so far (0 before any trial completed)."""
    return max(getattr(self, 'trial_seconds', {}).values(), default=0.0)

  def _clock_forbids_a_new_trial(self) -> bool:
    deadline = getattr(self, 'deadline', None)
    return deadline is not None and time.time() + self.expected_trial_seconds() > deadline

  @keras_tuner.synchronized
  def create_trial(self, tuner_id):
    trial = super().create_trial(tuner_id)
    if trial.status == 'RUNNING':
      self.trial_started = getattr(self, 'trial_started', {})
      self.trial_started.setdefault(trial.trial_id, time.time())
    return trial

  @keras_tuner.synchronized
  def end_trial(self, trial):
    started = getattr(self, 'trial_started', {}).pop(trial.trial_id, None)
    if started is not None and spec.is_completed(trial.status):
      self.trial_seconds = getattr(self, 'trial_seconds', {})
      self.trial_seconds[trial.trial_id] = round(time.time() - started, 3)
    super().end_trial(trial)

  def populate_space(self, trial_id):
    if self._clock_forbids_a_new_trial():
      # Asked before Keras Tuner's algorithm draws anything, so a stopped search leaves no
      # half-planned trial behind (a later run with more time resumes it cleanly).
      self.stopped_by_clock = True
      return {'status': 'STOPPED', 'values': None}
    response = super().populate_space(trial_id)
    queued = getattr(self, 'queued', None)
    values = response.get('values')
    if queued and response.get('status') == 'RUNNING' and values is not None and (
        'tuner/trial_id' not in values):
      response = {**response, 'values': {**values, **queued.pop(0)}}
    return response

  def get_state(self):
    return {**super().get_state(), 'hypertune_queued': list(getattr(self, 'queued', [])),
            'hypertune_trial_seconds': dict(getattr(self, 'trial_seconds', {}))}

  def set_state(self, state):
    super().set_state(state)
    self.restore_extras(state)

  def restore_extras(self, state: Mapping[str, Any]) -> None:
    """What this mixin keeps in the oracle's state: the warm-start queue, trial durations."""
    self.queued = list(state.get('hypertune_queued', []))
    self.trial_seconds = dict(state.get('hypertune_trial_seconds', {}))


def mix_into(obj, mixin) -> None:
  """Gives one object `mixin` in front of its own class (once)."""
  cls = type(obj)
  if not isinstance(obj, mixin):
    obj.__class__ = type(cls.__name__, (mixin, cls), {'__module__': cls.__module__})


def instrument(tuner) -> None:
  mix_into(tuner, Instrumented)
  oracle = tuner.oracle
  if isinstance(oracle, keras_tuner.Oracle) and not isinstance(oracle, OracleExtras):
    mix_into(oracle, OracleExtras)
    # The tuner reloaded its oracle before the mixin was there: restore what it saved.
    saved = spec.join(tuner.project_dir, spec.ORACLE_FILE)
    oracle.restore_extras(spec.read_json(saved, default={}))
  if isinstance(oracle, OracleExtras):
    oracle.state_file = spec.join(tuner.project_dir, spec.ORACLE_FILE)


def build_tuner(exec_properties: Dict[str, Any], fn_args) -> Tuple[Any, Dict[str, Any]]:
  """The user's tuner_fn (tuner_fn, module_file or module_path), its tuner instrumented and
  the component's budget applied: what the chief and every parallel worker search with."""
  result = udf_utils.get_fn(exec_properties, 'tuner_fn')(fn_args)
  fit_kwargs = apply_budget(result.tuner, result.fit_kwargs, fn_args.custom_config)
  instrument(result.tuner)
  return result.tuner, fit_kwargs
