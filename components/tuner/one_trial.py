"""One trial of a search whose trials run on Beam (beam_trials.py), in a process of its own.

The driver (the Tuner's executor) owns the oracle. A Beam slot (beam_slot.py) forks this process
from its worker's warm pool for each trial the driver assigns it; the process rebuilds the tuner
with the user's tuner_fn (the executor's fn_args, the shared search directory) and runs the
trial through Keras Tuner's own trial path: `tuner.search`, so `on_trial_begin`, `run_trial`
with its callbacks and checkpoints, Keras Tuner's handling of a trial that raises,
`on_trial_end`. Only the oracle is replaced, by `OneTrialOracle`, which plays the part Keras
Tuner's OracleClient plays for a parallel worker: it hands out the one trial the driver created,
records what the tuner reports, and passes each epoch's report (early_stopping.EpochReporter)
to the driver through the exchange, answering STOPPED once the driver has said so. The process
writes its record (the result) to a local file; the slot puts it into the exchange, and the
driver replays it into the real oracle (`update_trial`, `end_trial`), as the chief's servicer
would have.
"""

from __future__ import annotations

import json
import posixpath
import sys
import time
from typing import Any, Dict, List, Optional

import keras_tuner
from keras_tuner.engine import trial as trial_module

from tfx_hypertune.components.tuner import early_stopping


class OneTrialOracle:
  """The worker's oracle for one trial (see the module docstring). Anything else is read from
  the oracle tuner_fn built (objective, the search space). `report`: where an epoch's report
  goes (epoch, metrics) and whether the trial is to stop (None: epochs are not reported)."""

  def __init__(self, oracle, trial: trial_module.Trial, project_dir: str,
               report: Optional['EpochChannel'] = None):
    self._oracle = oracle
    self._trial = trial
    self._project_dir = project_dir
    self._report = report
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

  def update_trial(self, trial_id: str, metrics: Dict[str, float], step: int = 0):
    epoch = metrics.get(early_stopping.EPOCH_REPORT)
    if epoch is not None:
      # The driver's oracle decides (early_stopping.py); the epoch is not a result to replay.
      if self._report is not None and self._report.send(int(epoch), metrics, step):
        return trial_module.Trial(self._trial.hyperparameters.copy(), trial_id=trial_id,
                                  status=trial_module.TrialStatus.STOPPED)
      return self._trial
    self.updates.append({'metrics': {k: float(v) for k, v in metrics.items()}, 'step': step})
    # Kept on the trial as well: BaseTuner asks whether run_trial reported the objective itself.
    for name, value in metrics.items():
      if not self._trial.metrics.exists(name):
        direction = (self._oracle.objective.direction
                     if name == self._oracle.objective.name else 'min')
        self._trial.metrics.register(name, direction=direction)
      self._trial.metrics.update(name, float(value), step=step)
    return self._trial

  def get_trial(self, trial_id: str) -> trial_module.Trial:
    if trial_id == self._trial.trial_id:
      return self._trial
    # Another trial (a successive-halving round's parent): as the driver saved it.
    return trial_module.Trial.load(posixpath.join(self._project_dir, f'trial_{trial_id}',
                                                  'trial.json'))

  def end_trial(self, trial: trial_module.Trial) -> None:
    self.ended = trial

  def save(self) -> None:
    """The driver saves the oracle; a worker never writes it."""

  def reload(self) -> None:
    """Nothing to reload: the trial came from the driver."""


class EpochChannel:
  """A trial process's epoch reports to the driver, through the exchange: one file per epoch
  (the trial process its only writer). The trial waits for the driver's ruling on each epoch
  (a stop file, or the epoch in its heard file), so that a weak trial stops at the epoch that
  decided it, as in one process, however long the driver's look takes; a driver that does not
  answer within ANSWER_SECONDS (busy, or gone) lets the trial go on."""

  ANSWER_SECONDS = 30.0
  POLL_SECONDS = 0.1

  def __init__(self, exchange, slot: int, seq: int, answer_seconds: Optional[float] = None):
    self._exchange = exchange
    self._slot = slot
    self._seq = seq
    self._answer_seconds = self.ANSWER_SECONDS if answer_seconds is None else answer_seconds

  def send(self, epoch: int, metrics: Dict[str, float], step: int) -> bool:
    """Reports the epoch; returns whether the driver has said the trial is to stop."""
    self._exchange.report_epoch(self._slot, self._seq, epoch, {
        'metrics': {k: float(v) for k, v in metrics.items()}, 'step': step})
    deadline = time.monotonic() + self._answer_seconds
    while True:
      if self._exchange.is_stopped(self._slot, self._seq):
        return True
      if (self._exchange.last_heard(self._slot, self._seq) >= epoch
          or time.monotonic() >= deadline):
        return False
      time.sleep(self.POLL_SECONDS)


def result_of(oracle: OneTrialOracle) -> Dict[str, Any]:
  """What the driver replays: the tuner's update_trial calls, and the trial as it ended
  (status, message, hyperparameters: a conditional space may have grown during the build)."""
  ended = oracle.ended
  if ended is None:
    return {**failed_result('the trial did not end'), 'updates': oracle.updates}
  return {'updates': oracle.updates, 'status': ended.status, 'message': ended.message,
          'hyperparameters': ended.hyperparameters.get_config()}


def failed_result(message: str) -> Dict[str, Any]:
  """The result of a trial that produced none (its process died, or its slot was lost):
  FAILED, with why, and nothing to replay."""
  return {'updates': [], 'status': trial_module.TrialStatus.FAILED, 'hyperparameters': None,
          'message': message}


def run(request: Dict[str, Any], args_path: str, log_file: str) -> None:
  """In the trial process (beam_slot.py forks it): runs request['trial'] and writes its result
  to request['local_result'] (the slot puts it, and the log, into the exchange)."""
  from tfx_hypertune.components import filesystems
  from tfx_hypertune.components.tuner import exchange, files, worker
  filesystems.support(args_path)
  started = time.monotonic()
  tuner, fit_kwargs = worker.build_tuner_from(files.read_json(args_path))
  build_seconds = time.monotonic() - started
  trial = trial_module.Trial.from_state(request['trial'])
  channel = EpochChannel(exchange.Exchange(request['exchange']), request['slot'], request['seq'])
  oracle = OneTrialOracle(tuner.oracle, trial, tuner.project_dir, channel)
  tuner.oracle = oracle
  tuner.tuner_id = request['tuner_id']
  tuner.search(**fit_kwargs)
  # Which Beam worker ran it, beside the trial process's own host:pid (tuner_mixin.py).
  files.update_json(files.join(tuner.get_trial_dir(trial.trial_id), files.TRIAL_STATS_FILE),
                    {'beam_worker': request['beam_worker'], 'slot': request['slot']})
  result = {**result_of(oracle), 'beam_worker': request['beam_worker'],
            'restarts': request['restarts'], 'tuner_build_seconds': round(build_seconds, 2),
            'process_seconds': round(time.time() - request['requested_at'], 2)}
  sys.stdout.flush()
  sys.stderr.flush()
  with open(request['local_result'], 'w') as f:
    json.dump(result, f)


def replay(oracle: keras_tuner.Oracle, trial: trial_module.Trial,
           result: Dict[str, Any]) -> None:
  """In the driver: a worker's result into the real oracle, as Keras Tuner's chief would
  have received it (update_trial for each report, then end_trial)."""
  for update in result['updates']:
    oracle.update_trial(trial.trial_id, update['metrics'], step=update['step'])
  if result.get('hyperparameters'):
    trial.hyperparameters = keras_tuner.HyperParameters.from_config(result['hyperparameters'])
  trial.status = result['status']
  trial.message = result['message']
  oracle.end_trial(trial)
