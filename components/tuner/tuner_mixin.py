"""What the Tuner adds to any Keras Tuner tuner that a tuner_fn returns.

The executor cannot ask a user's tuner_fn for a special tuner class, so it takes the tuner it
is given (RandomSearch, Hyperband, BayesianOptimization, GridSearch, a subclass with its own
`run_trial`) and gives that object a class of its own, `Instrumented<its class>`, with
InstrumentedTuner in front, through Keras Tuner's public hooks only:

- `run_trial`: a Keras callback writes trial_stats.json (trial_stats.py) beside Keras Tuner's
  trial.json; a `run_trial` that never calls `fit` gets its parameter count from
  `hypermodel.build` in `on_trial_end` instead; with a rule for weak trials, another reports
  each epoch to the oracle and stops the trial when it answers so (early_stopping.py);
- `on_trial_begin` / `on_trial_end`: trial seconds, the worker, a failed trial's traceback
  into its folder, one progress line per trial (progress.py);
- `on_search_begin`: gc.freeze (Keras clears its session, with a full collection, per trial),
  and the tuner's file saved (Keras Tuner reloads the oracle only where that file exists);
- `pre_create_trial`: a pause after an IDLE answer (a parallel worker asks in a busy loop).

Its oracle gets oracle_mixin.OracleExtras the same way.
"""

from __future__ import annotations

import gc
import time
from typing import Any, Dict, Optional, Tuple

import keras_tuner

from tfx.components.util import udf_utils
from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import (early_stopping, files, keras_tuner_private,
                                            oracle_mixin, plan, progress, spec, trial_stats,
                                            warm_pool)

keras_tuner_private.quiet_trial_tracebacks()

# A parallel worker asks the chief for its next trial in a loop with no pause
# (BaseTuner.search); while Hyperband waits for a round to fill it answers IDLE, and the
# worker would ask again at once, thousands of times, taking CPU from the other worker.
IDLE_PAUSE_SECONDS = 0.1
INSTRUMENTED_PREFIX = 'Instrumented'


class InstrumentedTuner:
  """In front of any keras_tuner.Tuner's class (see the module docstring). Every override
  calls Keras Tuner's own first or last, so the tuner's behaviour is its own."""

  # Set in on_search_begin and per trial.
  _search_started: float
  _finished: int
  _asked_without_trial: bool = False
  _trial_started: float
  _trial_started_at: float  # wall time: trials of several processes and machines compare
  _epoch_reporter: Optional[early_stopping.EpochReporter] = None
  # Whether each epoch is reported to the oracle (a rule for weak trials is on): set by
  # instrument(), in every process that runs trials.
  reports_epochs: bool = False

  def on_search_begin(self):
    super().on_search_begin()
    # Keras Tuner writes the tuner's file (which decides whether the next run reloads the
    # oracle) only after the first trial ends: written now, a run killed before that resumes.
    self.save()
    # Keras Tuner clears the Keras session before every model build, and Keras 3's
    # clear_session() runs a full gc.collect(): with TensorFlow and TFX loaded that walked
    # every live object, about 0.5 s, twice per trial (bench/search_efficiency.py). Freezing
    # what exists now (modules, graphs, data) takes it out of those collections.
    gc.freeze()
    self._search_started = time.monotonic()
    # A parallel worker's oracle is an OracleClient, which has no trials: it counts its own.
    oracle = self.oracle
    self._finished = (len(oracle.completed_trials())
                      if isinstance(oracle, oracle_mixin.OracleExtras) else 0)

  def pre_create_trial(self):
    super().pre_create_trial()
    if self._asked_without_trial:  # the last request was answered IDLE
      time.sleep(IDLE_PAUSE_SECONDS)
    self._asked_without_trial = True

  def run_trial(self, trial, *args, **kwargs):
    # Keras Tuner's run_trial passes callbacks on to fit; a user's own run_trial (a custom
    # training loop) may take no such argument, and then gets none.
    self._epoch_reporter = None
    if plan.takes_argument(super().run_trial, 'callbacks'):
      extra = [trial_stats.TrialStatsCallback(self._stats_path(trial),
                                              self.oracle.objective.name)]
      if self.reports_epochs:
        self._epoch_reporter = early_stopping.EpochReporter(
            self.oracle, trial.trial_id, self.oracle.objective.name,
            trial.hyperparameters.values.get('tuner/initial_epoch', 0))
        extra.append(self._epoch_reporter)
      kwargs['callbacks'] = list(kwargs.get('callbacks') or []) + extra
    return super().run_trial(trial, *args, **kwargs)

  def on_trial_begin(self, trial):
    super().on_trial_begin(trial)
    self._asked_without_trial = False
    self._trial_started = time.monotonic()
    self._trial_started_at = time.time()

  def on_trial_end(self, trial):
    stats = {'trial_seconds': time.monotonic() - self._trial_started,
             'started_at': self._trial_started_at, 'tuner_id': self.tuner_id,
             'worker': warm_pool.process_name()}
    if not files.read_json(self._stats_path(trial), default={}).get('trainable_parameters'):
      stats.update(trial_stats.built_model_stats(getattr(self, 'hypermodel', None),
                                                 trial.hyperparameters))
    if self._epoch_reporter is not None and self._epoch_reporter.stopped_at:
      stats['stopped_early_at'] = self._epoch_reporter.stopped_at
    files.update_json(self._stats_path(trial), stats)
    error_log = progress.write_error_log(self.get_trial_dir(trial.trial_id), trial)
    super().on_trial_end(trial)
    self._finished += 1
    planned = (plan.planned_trials(self.oracle)
               if isinstance(self.oracle, keras_tuner.Oracle) else None)
    progress.say(progress.trial_line(
        self._finished, planned, self.oracle.objective.name, trial,
        time.monotonic() - self._search_started, error_log,
        self._epoch_reporter.stopped_at if self._epoch_reporter else None))

  def _stats_path(self, trial) -> str:
    return files.join(self.get_trial_dir(trial.trial_id), files.TRIAL_STATS_FILE)


def mix_into(obj, mixin) -> None:
  """Gives one object a class of its own, `Instrumented<its class>`, with `mixin` in front of
  its class (once): a traceback then names what the object really is."""
  cls = type(obj)
  if not isinstance(obj, mixin):
    name = f'{INSTRUMENTED_PREFIX}{cls.__name__}'
    obj.__class__ = type(name, (mixin, cls), {'__module__': __name__, '__qualname__': name})


def instrument(tuner, owns_oracle: bool = True,
               trial_stopping: str = early_stopping.NONE) -> Dict[str, Any]:
  """Instruments the tuner and its oracle (a keras_tuner.Oracle; a parallel worker's
  OracleClient is the chief's business). The process that owns the oracle (the executor's;
  not a worker's, which must never write it) repairs what it reloaded; returns what it did."""
  mix_into(tuner, InstrumentedTuner)
  tuner.reports_epochs = trial_stopping != early_stopping.NONE
  oracle = tuner.oracle
  state_file = files.join(tuner.project_dir, files.ORACLE_FILE)
  if (owns_oracle and isinstance(oracle, keras_tuner.Oracle) and fileio.exists(state_file)
      and not fileio.exists(keras_tuner_private.tuner_file(tuner))):
    # Saved oracle, no tuner file (a run killed as its first trial ended, before Keras Tuner
    # wrote it): Keras Tuner did not reload the oracle; the search goes on from it all the same.
    oracle.reload()
  if isinstance(oracle, keras_tuner.Oracle) and not isinstance(oracle, oracle_mixin.OracleExtras):
    mix_into(oracle, oracle_mixin.OracleExtras)
    oracle.init_extras()
    # The tuner reloaded its oracle before the mixin was there: what the mixin saved, back.
    oracle.extras = oracle_mixin.ExtrasState.from_json(
        files.read_json(state_file, default={}).get(oracle_mixin.STATE_KEY, {}))
  if isinstance(oracle, oracle_mixin.OracleExtras):
    oracle.state_file = state_file
    oracle.trial_stopping = trial_stopping
    if owns_oracle:
      return oracle.repair_reload()
  return {}


def build_tuner(exec_properties: Dict[str, Any], fn_args,
                owns_oracle: bool = True) -> Tuple[Any, Dict[str, Any]]:
  """The user's tuner_fn (tuner_fn, module_file or module_path), its tuner instrumented and
  the component's budget applied: what the executor and every worker search with."""
  result = udf_utils.get_fn(exec_properties, 'tuner_fn')(fn_args)
  fit_kwargs = plan.apply_budget(result.tuner, result.fit_kwargs, fn_args.custom_config)
  repaired = instrument(result.tuner, owns_oracle, spec.trial_stopping(exec_properties))
  if repaired.get('forgotten') or repaired.get('run_again'):
    forgotten = ', '.join(repaired['forgotten'])
    note = f'; never recorded by the oracle, set aside: {forgotten}' if forgotten else ''
    progress.say(f'  [Tuner] the last run was interrupted: trial(s) '
                 f'{", ".join(repaired["run_again"]) or "none"} run again{note}')
  return result.tuner, fit_kwargs
