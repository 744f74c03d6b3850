"""What the Tuner adds to any Keras Tuner oracle (mixed in front of its class by
tuner_mixin.instrument, or a base of our own oracles in oracles.py):

- warm start: a fresh trial (not a Hyperband promotion) takes the next queued configuration
  instead of the one the algorithm drew (not for grid search, which serves every configuration
  anyway);
- trials to run again: a trial whose worker was lost, or that an interrupted run left running,
  is handed to the next tuner that asks, before any new trial (Keras Tuner hands an ongoing
  trial back only to the same tuner id, which may never ask again);
- a repaired reload: Keras Tuner writes a new trial's trial.json before oracle.json, and saves
  oracle.json with an ended trial still listed as ongoing, which its reload sends for retry; a
  run interrupted between those writes left a trial RUNNING that no one would run again, or a
  finished trial that the next tuner would run again. On reload such a trial is set aside or
  taken off the retry queue (repair_reload);
- a clock (the Tuner's `max_minutes`): no trial starts that would end after the deadline if it
  took as long as the longest trial so far (the first trial always starts); running trials
  finish, and the search then ends with what completed. Each completed trial's wall time is
  kept in the saved state, so a resumed search judges by the durations of its earlier runs;
- stopping weak trials (early_stopping.py): with `trial_stopping` 'median', an epoch's report
  of a trial (update_trial with early_stopping.EPOCH_REPORT) is answered STOPPED when the
  median rule says so; every trial's per-epoch values and the trials stopped early are kept in
  the saved state;
- its state is written whole: to a temporary file renamed into place, so a kill never leaves a
  truncated oracle.json (Keras Tuner writes it in place);
- reads and changes from outside Keras Tuner's own calls (the local pool's watcher, the Beam
  driver) take the oracle's own lock (keras_tuner.synchronized), as its gRPC servicer does.

What survives a reload is in ExtrasState and goes through get_state / set_state, under one key.
"""

from __future__ import annotations

import dataclasses
import posixpath
import time
from typing import Any, Dict, List, Mapping, Optional

import keras_tuner
from keras_tuner.engine import trial as trial_module
from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import early_stopping, files, keras_tuner_private, trials

TrialStatus = trials.TrialStatus
STATE_KEY = 'hypertune'  # in oracle.json, beside Keras Tuner's own state
# A trial whose worker is lost this many times is FAILED rather than handed out again.
MAX_LOST_RUNS = 3


@dataclasses.dataclass
class ExtrasState:
  """What the mixin keeps in oracle.json."""
  queued: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # warm start
  rerun: List[str] = dataclasses.field(default_factory=list)  # trial ids to hand out again
  lost_runs: Dict[str, int] = dataclasses.field(default_factory=dict)  # trial id: times
  trial_seconds: Dict[str, float] = dataclasses.field(default_factory=dict)  # completed
  # Per trial, the objective of each epoch it reported ({epoch: value}; JSON: str epochs).
  epoch_values: Dict[str, Dict[str, float]] = dataclasses.field(default_factory=dict)
  stopped_early: Dict[str, int] = dataclasses.field(default_factory=dict)  # trial id: epoch

  @classmethod
  def from_json(cls, values: Mapping[str, Any]) -> 'ExtrasState':
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in (values or {}).items() if k in known})


class OracleExtras:
  """Mixed in front of a keras_tuner.Oracle (see the module docstring)."""

  # Declared here, set by init_extras: the saved state, and what lasts one execution.
  extras: ExtrasState
  state_file: Optional[str]      # oracle.json, once the tuner made its project
  trial_started: Dict[str, float]
  clock_started: float
  deadline: Optional[float]
  stopped_by_clock: bool
  said_stop: bool                # a create_trial was answered STOPPED: no new trials
  trial_stopping: str            # policies.TRIAL_STOPPING_RULES: the rule for weak trials

  def __init__(self, *args, **kwargs):
    self.init_extras()
    super().__init__(*args, **kwargs)

  def init_extras(self) -> None:
    self.extras = ExtrasState()
    self.state_file = None
    self.trial_started = {}
    self.clock_started = time.time()
    self.deadline = None
    self.stopped_by_clock = False
    self.said_stop = False
    self.trial_stopping = early_stopping.NONE

  @property
  def accepts_queue(self) -> bool:
    return not isinstance(self, keras_tuner.oracles.GridSearchOracle)

  # -------------------------------------------------------------------------------------------
  # Trials: completed ones, and trials to run again.

  @keras_tuner.synchronized
  def completed_trials(self) -> List[Any]:
    return [t for t in self.trials.values() if trials.is_completed(t.status)]

  @keras_tuner.synchronized
  def run_again(self, tuner_id: str, message: str) -> Optional[str]:
    """A tuner (a worker, a Beam slot) was lost with its trial: the trial is handed to the next
    tuner that asks, or, lost MAX_LOST_RUNS times, ends FAILED with `message`. Returns the
    trial id (None if the tuner had no trial)."""
    trial = self.ongoing_trials.pop(tuner_id, None)
    self.tuner_ids.discard(tuner_id)
    if trial is None:
      return None
    lost = self.extras.lost_runs.get(trial.trial_id, 0) + 1
    self.extras.lost_runs[trial.trial_id] = lost
    self.trial_started.pop(trial.trial_id, None)
    if lost >= MAX_LOST_RUNS:
      trial.status = TrialStatus.FAILED
      trial.message = f'{message} ({lost} times; not run again)'
      self.ongoing_trials[tuner_id] = trial  # end_trial pops it from there
      self.end_trial(trial)
    else:
      self.extras.rerun.append(trial.trial_id)
      self.save()
    return trial.trial_id

  @keras_tuner.synchronized
  def create_trial(self, tuner_id):
    if tuner_id not in self.ongoing_trials and self.extras.rerun:
      trial = self.trials[self.extras.rerun.pop(0)]
      trial.status = TrialStatus.RUNNING
      self.ongoing_trials[tuner_id] = trial
      self.tuner_ids.add(tuner_id)
      self.save()
      keras_tuner_private.display_trial_begin(self, trial)
    else:
      trial = super().create_trial(tuner_id)
    if trial.status == TrialStatus.RUNNING:
      self.trial_started.setdefault(trial.trial_id, time.time())
    elif trial.status == TrialStatus.STOPPED:
      self.said_stop = True
    return trial

  @keras_tuner.synchronized
  def search_is_over(self) -> bool:
    """The oracle has said it starts no new trial, and has none to run again."""
    return self.said_stop and not self.extras.rerun

  @keras_tuner.synchronized
  def update_trial(self, trial_id, metrics, step=0):
    """Keras Tuner's; but an epoch's report (early_stopping.EpochReporter) is the rule's: kept
    apart from the trial's metrics (Keras Tuner would take a trial that has its objective
    recorded for one whose run_trial reported its own results, and record no other metric),
    and answered with a trial whose status is STOPPED if the trial is to stop."""
    epoch = metrics.get(early_stopping.EPOCH_REPORT)
    if epoch is None:
      return super().update_trial(trial_id, metrics, step=step)
    trial = self.trials[trial_id]
    value = metrics.get(self.objective.name)
    if value is None:
      return trial
    self.extras.epoch_values.setdefault(trial_id, {})[str(int(epoch))] = float(value)
    if self.trial_stopping == early_stopping.MEDIAN and early_stopping.median_says_stop(
        early_stopping.history_of(self.extras.epoch_values), trial_id, int(epoch),
        self.objective.direction):
      self.extras.stopped_early[trial_id] = int(epoch)
      return trial_module.Trial(trial.hyperparameters.copy(), trial_id=trial_id,
                                status=TrialStatus.STOPPED)
    return trial

  @keras_tuner.synchronized
  def end_trial(self, trial):
    started = self.trial_started.pop(trial.trial_id, None)
    if started is not None and trials.is_completed(trial.status):
      self.extras.trial_seconds[trial.trial_id] = round(time.time() - started, 3)
    if trial.trial_id in self.extras.stopped_early:
      # Where it stopped: its last reported epoch (later than the deciding one only when a
      # trial on Beam went on without the driver's ruling: one_trial.EpochChannel).
      reported = self.extras.epoch_values.get(trial.trial_id, {})
      self.extras.stopped_early[trial.trial_id] = max(
          [int(e) for e in reported] + [self.extras.stopped_early[trial.trial_id]])
    super().end_trial(trial)
    # Keras Tuner saved oracle.json before it took the trial off the ongoing ones: saved again,
    # a resumed search does not hand the ended trial out once more.
    self.save()

  def repair_reload(self) -> Dict[str, List[str]]:
    """After a reload: a trial with a trial.json that oracle.json never recorded (the run ended
    between the two writes of its creation) is forgotten, as the oracle's algorithm never
    counted it; an ended trial still listed as ongoing is taken off; a trial left running is
    handed to the next tuner that asks. Returns what was done, for the Tuner to say."""
    repaired: Dict[str, List[str]] = {'forgotten': [], 'closed': [], 'run_again': []}
    started = set(self.start_order)
    for trial_id in [t for t in self.trials if t not in started]:
      del self.trials[trial_id]
      self._set_aside_trial_folder(trial_id)
      repaired['forgotten'].append(trial_id)
    # Keras Tuner's reload sends every trial saved as ongoing for retry, ended ones too.
    retry_queue = keras_tuner_private.retry_queue(self)
    for trial_id in list(retry_queue):
      if self.trials[trial_id].status in (TrialStatus.COMPLETED, TrialStatus.FAILED):
        retry_queue.remove(trial_id)
        repaired['closed'].append(trial_id)
      else:
        repaired['run_again'].append(trial_id)
    for trial in self.trials.values():  # running, yet not going to run: the same interruption
      if (trial.status == TrialStatus.RUNNING and trial.trial_id not in retry_queue
          and trial.trial_id not in self.extras.rerun):
        self.extras.rerun.append(trial.trial_id)
        repaired['run_again'].append(trial.trial_id)
    if any(repaired.values()):
      self.save()
    return repaired

  def _set_aside_trial_folder(self, trial_id: str) -> None:
    """A forgotten trial's folder, renamed so that no reader of trial_*/ takes it for a trial
    (the next trial gets its id again)."""
    if self.state_file is None:
      return
    project = posixpath.dirname(self.state_file)
    folder = files.trial_dir(project, trial_id)
    aside = files.join(project, f'unrecorded-{time.strftime("%Y%m%dT%H%M%S")}-trial_{trial_id}')
    if fileio.exists(folder):
      fileio.rename(folder, aside, overwrite=True)

  # -------------------------------------------------------------------------------------------
  # Warm start and the clock.

  def enqueue(self, configurations: List[Dict[str, Any]]) -> None:
    if self.accepts_queue:
      self.extras.queued = [dict(values) for values in configurations]

  def start_clock(self, seconds: Optional[float]) -> None:
    """From now on, no trial starts that is expected to end more than `seconds` from now;
    None: no clock."""
    self.clock_started = time.time()
    self.deadline = None if seconds is None else self.clock_started + seconds
    self.stopped_by_clock = False

  def expected_trial_seconds(self) -> float:
    """The longest completed trial's wall time so far (0 before any trial completed)."""
    return max(self.extras.trial_seconds.values(), default=0.0)

  def _clock_forbids_a_new_trial(self) -> bool:
    return (self.deadline is not None
            and time.time() + self.expected_trial_seconds() > self.deadline)

  def populate_space(self, trial_id):
    if self._clock_forbids_a_new_trial():
      # Asked before Keras Tuner's algorithm draws anything, so a stopped search leaves no
      # half-planned trial behind (a later run with more time resumes it cleanly).
      self.stopped_by_clock = True
      return {'status': TrialStatus.STOPPED, 'values': None}
    response = super().populate_space(trial_id)
    queued = self.extras.queued
    values = response.get('values')
    if queued and response.get('status') == TrialStatus.RUNNING and values is not None and (
        'tuner/trial_id' not in values):
      response = {**response, 'values': {**values, **queued.pop(0)}}
    return response

  # -------------------------------------------------------------------------------------------
  # Saved state.

  @keras_tuner.synchronized
  def save(self):
    if self.state_file is None:  # not instrumented yet (the tuner is being built)
      return super().save()
    files.write_json(self.state_file, self.get_state())

  def get_state(self):
    return {**super().get_state(), STATE_KEY: dataclasses.asdict(self.extras)}

  def set_state(self, state):
    super().set_state(state)
    self.extras = ExtrasState.from_json(state.get(STATE_KEY, {}))
