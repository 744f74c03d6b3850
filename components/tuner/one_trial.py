"""One trial of a search whose trials run on Beam (beam_trials.py), in a process of its own.

The driver (the Tuner's executor) owns the oracle. A Beam worker forks this process from its
warm pool for each trial it is handed; the process rebuilds the tuner with the user's tuner_fn
(the executor's fn_args, the shared search directory) and runs the trial through Keras Tuner's
own trial path: `tuner.search`, so `on_trial_begin`, `run_trial` with its callbacks and
checkpoints, Keras Tuner's handling of a trial that raises, `on_trial_end`. Only the oracle is
replaced, by `OneTrialOracle`, which plays the part Keras Tuner's OracleClient plays for a
parallel worker: it hands out the one trial the driver created and records what the tuner
reports. The process writes that record (its result) to a file; the driver replays it into
the real oracle (`update_trial`, `end_trial`), as the chief's servicer would have.
"""

from __future__ import annotations

import posixpath
import sys
import time
from typing import Any, Dict, List

import keras_tuner
from keras_tuner.engine import trial as trial_module


class OneTrialOracle:
  """The worker's oracle for one trial (see the module docstring). Anything else is read from
  the oracle tuner_fn built (objective, max_trials, the search space)."""

  def __init__(self, oracle, trial: trial_module.Trial, project_dir: str):
    self._oracle = oracle
    self._trial = trial
    self._project_dir = project_dir
    self._handed_out = False
    self.updates: List[Dict[str, Any]] = []  # each update_trial call: metrics and step
    self.ended = None

  def __getattr__(self, name):
    return getattr(self._oracle, name)

  def create_trial(self, tuner_id: str) -> trial_module.Trial:
    if self._handed_out:  # the tuner asks again after its trial: the search ends here
      return trial_module.Trial(self._trial.hyperparameters.copy(),
                                status=trial_module.TrialStatus.STOPPED)
    self._handed_out = True
    return self._trial

  def update_trial(self, trial_id: str, metrics: Dict[str, float], step: int = 0) -> str:
    self.updates.append({'metrics': {k: float(v) for k, v in metrics.items()}, 'step': step})
    # Kept on the trial as well: BaseTuner asks whether run_trial reported the objective itself.
    for name, value in metrics.items():
      if not self._trial.metrics.exists(name):
        direction = (self._oracle.objective.direction
                     if name == self._oracle.objective.name else 'min')
        self._trial.metrics.register(name, direction=direction)
      self._trial.metrics.update(name, float(value), step=step)
    return self._trial.status

  def get_trial(self, trial_id: str) -> trial_module.Trial:
    if trial_id == self._trial.trial_id:
      return self._trial
    # Another trial (a Hyperband round's parent): as the driver saved it.
    return trial_module.Trial.load(posixpath.join(self._project_dir, f'trial_{trial_id}',
                                                  'trial.json'))

  def end_trial(self, trial: trial_module.Trial) -> None:
    self.ended = trial

  def save(self) -> None:
    """The driver saves the oracle; a worker never writes it."""

  def reload(self) -> None:
    """Nothing to reload: the trial came from the driver."""


def result_of(oracle: OneTrialOracle) -> Dict[str, Any]:
  """What the driver replays: the tuner's update_trial calls, and the trial as it ended
  (status, message, hyperparameters: a conditional space may have grown during the build)."""
  ended = oracle.ended
  if ended is None:
    return {**failed_result('the trial did not end'), 'updates': oracle.updates}
  return {'updates': oracle.updates, 'status': ended.status, 'message': ended.message,
          'hyperparameters': ended.hyperparameters.get_config()}


def failed_result(message: str) -> Dict[str, Any]:
  """The result of a trial that produced none (its process died, or no pipeline ran it):
  FAILED, with why, and nothing to replay."""
  return {'updates': [], 'status': trial_module.TrialStatus.FAILED, 'hyperparameters': None,
          'message': message}


def run(request: Dict[str, Any], args_path: str, log_file: str) -> None:
  """In the trial process (beam_worker.py forks it): runs request['trial'], copies this
  process's log (log_file, a local file) and then writes the trial's result where the driver
  reads them (request['log_path'], request['result_path'])."""
  from tfx.dsl.io import fileio
  from tfx_hypertune.components import filesystems
  from tfx_hypertune.components.tuner import files, worker
  filesystems.support(args_path)
  started = time.monotonic()
  tuner, fit_kwargs = worker.build_tuner_from(files.read_json(args_path))
  build_seconds = time.monotonic() - started
  trial = trial_module.Trial.from_state(request['trial'])
  oracle = OneTrialOracle(tuner.oracle, trial, tuner.project_dir)
  tuner.oracle = oracle
  tuner.tuner_id = request['tuner_id']
  tuner.search(**fit_kwargs)
  # Which Beam worker ran it, beside the trial process's own host:pid (tuner_mixin.py).
  files.update_json(files.join(tuner.get_trial_dir(trial.trial_id), files.TRIAL_STATS_FILE),
                   {'beam_worker': request['beam_worker']})
  result = {**result_of(oracle), 'beam_worker': request['beam_worker'],
            'restarts': request['restarts'], 'tuner_build_seconds': round(build_seconds, 2),
            'process_seconds': round(time.time() - request['requested_at'], 2)}
  sys.stdout.flush()
  sys.stderr.flush()
  fileio.makedirs(posixpath.dirname(request['log_path']))
  fileio.copy(log_file, request['log_path'], overwrite=True)
  files.write_json(request['result_path'], result)  # last: a result means the trial is done


def replay(oracle: keras_tuner.Oracle, trial: trial_module.Trial,
           result: Dict[str, Any]) -> None:
  """In the driver: a worker's TrialResult into the real oracle, as Keras Tuner's chief would
  have received it (update_trial for each report, then end_trial)."""
  for update in result['updates']:
    oracle.update_trial(trial.trial_id, update['metrics'], step=update['step'])
  if result.get('hyperparameters'):
    trial.hyperparameters = keras_tuner.HyperParameters.from_config(result['hyperparameters'])
  trial.status = result['status']
  trial.message = result['message']
  oracle.end_trial(trial)
