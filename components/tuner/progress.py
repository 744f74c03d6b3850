"""What the Tuner says while it searches: one line per finished trial, in one format, whichever
process ran the trial (this one, a parallel worker, a Beam worker).

    [Tuner  12.3s] trial 4 of ~30: val_accuracy=0.9512 epochs=2 {'units_0': 64, ...}
    [Tuner  13.0s] trial 5 of ~30 FAILED: ValueError: bad input (full traceback:
        .../trial_05/trial_error.log)

A failed trial is one line: Keras Tuner prints each failed trial's whole traceback (it runs
with its DEBUG switch on); here the traceback goes to the trial's `trial_error.log`, written by
the process that ran the trial, and the line names it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional, Set

from tfx.dsl.io import fileio

from tfx_hypertune.components import log
from tfx_hypertune.components.tuner import files, trials
from tfx_hypertune.components.tuner.hyperparameters import active_values

say = log.say  # every line the Tuner says goes out through absl logging at INFO

TrialStatus = trials.TrialStatus


def trial_line(done: int, planned: Optional[int], objective: str, trial, elapsed: float,
               error_log: Optional[str] = None, stopped_at: Optional[int] = None) -> str:
  """The line for a finished trial: its score and values, or, for a trial that ended without
  a result, its error's last line and where the whole traceback is."""
  of = f' of ~{planned}' if planned else ''
  head = f'  [Tuner {elapsed:6.1f}s] trial {done}{of}'
  if trials.is_failed(trial.status):
    where = f' (full traceback: {error_log})' if error_log else ''
    return f'{head} {trial.status}: {trial_error(trial.message, error_log)}{where}'
  values = {k: round(v, 6) if isinstance(v, float) else v
            for k, v in active_values(trial.hyperparameters).items()}
  epochs = trial.hyperparameters.values.get('tuner/epochs')
  score = trial.score if trial.score is not None else float('nan')
  stopped = f' stopped at epoch {stopped_at} (below the median)' if stopped_at else ''
  return (f'{head}: {objective}={score:.4f}'
          f'{f" epochs={epochs}" if epochs else ""}{stopped} {values}')


def trial_error(message: Optional[str], error_log: Optional[str]) -> str:
  """A failed trial's error in one line: the last line of its traceback, from the trial's
  message, or from its error log when the message did not travel (a parallel worker's trial
  reaches the chief without it)."""
  if not message and error_log and fileio.exists(error_log):
    with fileio.open(error_log, 'r') as f:
      message = f.read()
  return trials.last_line(message)


def error_log_path(trial_dir: str) -> str:
  return files.join(trial_dir, files.TRIAL_ERROR_FILE)


def write_error_log(trial_dir: str, trial) -> Optional[str]:
  """The traceback of a trial that ended without a result (Keras Tuner keeps it in
  `trial.message`) into its folder; returns the path, or None for a finished trial."""
  if not trials.is_failed(trial.status):
    return None
  path = error_log_path(trial_dir)
  files.write_text(path, trial.message or 'no message')
  return path


class TrialReporter:
  """Prints each trial of an oracle once, when it has ended (completed or failed), for a
  search whose trials run elsewhere (parallel workers, Beam): `report_new()` after each look
  at the oracle."""

  def __init__(self, oracle, planned: Optional[int], error_log: Callable[[Any], Optional[str]],
               say: Callable[[str], None] = log.say):
    self._oracle = oracle
    self._planned = planned
    self._error_log = error_log
    self._say = say
    self._started = time.monotonic()
    self._reported: Set[str] = {t.trial_id for t in oracle.trials.values() if _ended(t)}

  def report_new(self) -> None:
    ended = sorted((t for t in list(self._oracle.trials.values())
                    if _ended(t) and t.trial_id not in self._reported),
                   key=lambda t: t.trial_id)
    for trial in ended:
      self._reported.add(trial.trial_id)
      self._say(trial_line(len(self._reported), self._planned, self._oracle.objective.name,
                           trial, time.monotonic() - self._started,
                           self._error_log(trial) if trials.is_failed(trial.status) else None,
                           getattr(self._oracle, 'extras', None)
                           and self._oracle.extras.stopped_early.get(trial.trial_id)))


def _ended(trial) -> bool:
  """Completed, or failed for good (an INVALID trial still has retries left)."""
  return trials.is_completed(trial.status) or trial.status == TrialStatus.FAILED
