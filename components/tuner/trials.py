"""What a Keras Tuner trial is to the Tuner: whether it finished, its error, and the order of
"best".

Statuses are Keras Tuner's own (`TrialStatus`), as trial.json and trials.csv spell them. A
trial counts once it is COMPLETED: every filter of finished trials goes through is_completed.
"""

from __future__ import annotations

from typing import Callable, Iterable, List, Optional, TypeVar

from keras_tuner.engine import trial as trial_module

TrialStatus = trial_module.TrialStatus

# The statuses of a trial that ended without a result: FAILED (no more retries) and INVALID
# (crashed; retried while the oracle's max_retries_per_trial allows).
FAILED_STATUSES = (TrialStatus.FAILED, TrialStatus.INVALID)


def is_completed(status: Optional[str]) -> bool:
  return status == TrialStatus.COMPLETED


def is_failed(status: Optional[str]) -> bool:
  return status in FAILED_STATUSES


def last_line(message: Optional[str]) -> str:
  """The last non-empty line of a trial's message: the error of a traceback."""
  lines = [line.strip() for line in (message or '').splitlines() if line.strip()]
  return lines[-1] if lines else 'no message'


Item = TypeVar('Item')


def best_first(items: Iterable[Item], direction: str, score: Callable[[Item], float],
               trial_id: Callable[[Item], str],
               val_loss: Optional[Callable[[Item], Optional[float]]] = None) -> List[Item]:
  """Items ordered best score first for the objective's direction ('max' or 'min'); ties go
  to the lower val_loss when `val_loss` reads it (accuracy on a small eval split moves in steps
  of one row, and many trials tie), then to the earlier trial. Items without a score are left
  out."""
  scored = [item for item in items if score(item) is not None]
  sign = -1 if direction == 'max' else 1

  def loss(item) -> float:
    value = val_loss(item) if val_loss else None
    return float('inf') if value in (None, '') else float(value)

  return sorted(scored, key=lambda item: (sign * float(score(item)), loss(item), trial_id(item)))


def trial_val_loss(trial) -> Optional[float]:
  """A Keras Tuner trial's best val_loss, or None if it has none."""
  if not trial.metrics.exists('val_loss'):
    return None
  return trial.metrics.get_best_value('val_loss')
