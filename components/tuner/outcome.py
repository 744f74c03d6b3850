"""What a finished search leaves: its completed and failed trials, the trial the Trainer gets,
the stock outputs (best_hyperparameters.txt, tuner_results.json), a copy of the trial files, and
what its clock did.
"""

from __future__ import annotations

import posixpath
import time
from typing import Any, Dict, List, Optional

from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import (files, oracle_mixin, plan, progress, selection,
                                            trial_table, trials)
from tfx_hypertune.components.tuner.hyperparameters import active_values


class TrialsFailedError(RuntimeError):
  """The search ended without a trial to train: its message names the failures in one line."""


def completed_trials(oracle) -> List[Any]:
  """Every completed trial, best first (all of them, whatever max_trials says: never
  get_best_trials(oracle.max_trials), which crashes for Hyperband, tensorflow/tfx#7778)."""
  return trials.best_first(oracle.completed_trials(), oracle.objective.direction,
                           score=lambda t: t.score, trial_id=lambda t: t.trial_id,
                           val_loss=trials.trial_val_loss)


def failed_trials(oracle, project_dir: Optional[str] = None) -> List[Dict[str, Any]]:
  """Trials that ended without a result: their values, their error (the last line of its
  traceback) and where the whole traceback is (in the Keras Tuner project's trial folder)."""
  failed = []
  for trial in sorted(oracle.trials.values(), key=lambda t: t.trial_id):
    if not trials.is_failed(trial.status):
      continue
    log = (progress.error_log_path(files.trial_dir(project_dir, trial.trial_id))
           if project_dir else None)
    failed.append({'trial_id': trial.trial_id, 'status': trial.status,
                   'values': active_values(trial.hyperparameters),
                   'error': progress.trial_error(trial.message, log),
                   'traceback': log if log and fileio.exists(log) else None})
  return failed


def failure_summary(tuner) -> str:
  """The failed trials in a few words: how many, the last one's error and where its
  traceback is."""
  failed = failed_trials(tuner.oracle, tuner.project_dir)
  if not failed:
    return 'no trial failed either (the search planned none?)'
  last = failed[-1]
  where = f' (full traceback: {last["traceback"]})' if last['traceback'] else ''
  return (f'{len(failed)} trial(s) failed; the last, trial {last["trial_id"]}: '
          f'{last["error"]}{where}')


def select_trial(oracle, completed: List[Any], project_dir: str, rule: Optional[str],
                 tolerance: float) -> selection.Choice:
  """The trial the Trainer gets: the best, or the cheapest nearly as good (selection.py).
  `completed`: the completed trials, best first (completed_trials)."""
  rows = {row['trial_id']: row for row in trial_table.build(project_dir).rows}
  final_epochs = plan.final_epochs(oracle)

  def final_length(trial) -> bool:
    """Trained as long as the search's longest trials: not a shorter round, not stopped."""
    if rows.get(trial.trial_id, {}).get('stopped_early_at'):
      return False
    return final_epochs is None or trial.hyperparameters.values.get(
        'tuner/epochs', final_epochs) >= final_epochs

  candidates = [selection.Candidate(
      trial_id=t.trial_id, score=float(t.score), final_length=final_length(t),
      trainable_parameters=rows.get(t.trial_id, {}).get('trainable_parameters'),
      seconds_per_epoch=rows.get(t.trial_id, {}).get('seconds_per_epoch')) for t in completed]
  choice = selection.choose(candidates, oracle.objective.direction, rule, tolerance)
  if choice.rule != selection.BEST:
    progress.say(f'  [Tuner] {choice.rule} {tolerance:g}: {choice.reason}')
  return choice


def write_results(completed: List[Any], budget: Dict[str, Any], hp_dir: str, results_dir: str,
                  choice: selection.Choice) -> None:
  """The stock outputs: best_hyperparameters.txt (HyperParameters.get_config() of the best
  trial, or of the chosen one, plus the budget the search ran with and the choice) and
  tuner_results.json (the stock records: trial_id, score and every value, best first, for
  every completed trial). `completed`: the completed trials, best first."""
  chosen = next(t for t in completed if t.trial_id == choice.trial_id)
  files.write_best_hyperparameters(hp_dir, {
      **chosen.hyperparameters.get_config(),
      # The epoch at which the chosen trial scored best (1-based).
      files.BUDGET_FIELD: {**budget, files.BEST_EPOCHS_KEY: int(chosen.best_step or 0) + 1},
      files.SELECTION_FIELD: choice.record()})
  files.write_json(files.join(results_dir, files.TUNER_RESULTS_FILE), [
      {'trial_id': t.trial_id, 'score': t.score, **t.hyperparameters.values}
      for t in completed if t.hyperparameters.values])


def epochs_trained(project_dir: str) -> int:
  """The epochs every trial of a search trained (trial_stats.json), the stopped ones' too."""
  return sum(row['epochs_run'] or 0 for row in trial_table.build(project_dir).rows)


def copy_trial_files(project_dir: str, target: str) -> None:
  """Trial metadata into the artifact; checkpoints stay in the state directory."""
  for path in fileio.glob(files.join(project_dir, '*.json')) + fileio.glob(
      files.join(project_dir, 'trial_*', '*.json')):
    destination = files.join(target, posixpath.relpath(path, project_dir))
    fileio.makedirs(posixpath.dirname(destination))
    fileio.copy(path, destination, overwrite=True)


def start_clock(oracle, max_minutes: Optional[float]) -> Optional[float]:
  """Gives the oracle its deadline, `max_minutes` from now (None or 0: no clock)."""
  if not max_minutes:
    return None
  if not isinstance(oracle, oracle_mixin.OracleExtras):
    raise ValueError(f'max_minutes: {type(oracle).__name__} cannot be stopped by a clock (only '
                     f'a keras_tuner.Oracle can)')
  oracle.start_clock(60 * max_minutes)
  progress.say(f'  [Tuner] clock: {max_minutes:g} minutes; no trial starts that would end '
               f'after it, going by the longest trial so far')
  return max_minutes


def clock_outcome(oracle, max_minutes: Optional[float]) -> Dict[str, Any]:
  """What search_info.json records about the clock; says a line if it ended the search."""
  if max_minutes is None:
    return {'max_minutes': None, 'stopped_by_clock': False}
  stopped = bool(oracle.stopped_by_clock)
  planned = plan.planned_trials(oracle)
  not_run = (max(planned - len(oracle.completed_trials()), 0) if stopped and planned else 0)
  if stopped:
    progress.say(f'  [Tuner] the clock ended the search ({max_minutes:g} minutes): '
                 f'{not_run or "some"} planned trial(s) did not run; a later run with a larger '
                 f'max_minutes resumes the search')
  return {'max_minutes': max_minutes, 'stopped_by_clock': stopped,
          'planned_trials_not_run': not_run,
          'search_seconds': round(time.time() - oracle.clock_started, 1),
          'longest_trial_seconds': oracle.expected_trial_seconds()}
