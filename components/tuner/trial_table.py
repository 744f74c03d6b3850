"""The trial table: one row per trial of a Keras Tuner project, from its files alone (Keras
Tuner's trial_*/trial.json, our trial_*/trial_stats.json and trial_error.log), so it can be
rebuilt from any search directory and its numbers checked against those files. trials.csv is
this table; the report (report.py), warm start and the choice of a trial read it.

Its metric columns are what the trials recorded, not a list of names: every validation metric
(`val_*`) the tuner_fn's model reported, and the objective whatever its name, the objective
first. Each metric's direction is the oracle's for the objective, else the one the model's
metric object declares (trial_stats.py), else the one Keras Tuner recorded.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any, Dict, List, Optional

from tfx_hypertune.components.tuner import files, hyperparameters, progress, trial_stats, trials

# The columns before the metrics, and after them (before the hyperparameters).
LEADING_COLUMNS = ('trial_id', 'status', 'score')
TRAILING_COLUMNS = ('epochs_run', 'initial_epoch', 'stopped_early_at', 'trainable_parameters',
                    'seconds_per_epoch', 'trial_seconds', 'bracket', 'round', 'tuner_id',
                    'worker', 'error')


@dataclasses.dataclass
class TrialTable:
  rows: List[Dict[str, Any]]      # one per trial, in trial order
  metrics: List[str]              # the metric columns, the objective first
  directions: Dict[str, str]      # metric: 'max' | 'min'
  hyperparameters: List[str]      # the hyperparameter columns (active values only)
  objective: Optional[str] = None
  items: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # load_trials's

  @property
  def columns(self) -> List[str]:
    return [*LEADING_COLUMNS, *self.metrics, *TRAILING_COLUMNS, *self.hyperparameters]

  def values_of(self, row: Dict[str, Any]) -> Dict[str, Any]:
    """The hyperparameter values of a row (those the trial has)."""
    return {name: row[name] for name in self.hyperparameters if row.get(name) is not None}

  def completed(self) -> List[Dict[str, Any]]:
    return [row for row in self.rows if trials.is_completed(row['status'])]

  def csv_text(self) -> str:
    out = io.StringIO(newline='')
    writer = csv.DictWriter(out, fieldnames=self.columns)
    writer.writeheader()
    writer.writerows(self.rows)
    return out.getvalue()


def load_trials(project_dir: str) -> List[Dict[str, Any]]:
  """One dict per trial folder: its trial.json, trial_stats.json and error log's path."""
  return [{'trial': files.read_json(files.join(trial_dir, files.TRIAL_FILE)),
           'stats': files.read_json(files.join(trial_dir, files.TRIAL_STATS_FILE), default={}),
           'error_log': progress.error_log_path(trial_dir)}
          for trial_dir in files.trial_dirs(project_dir)]


def build(project_dir: str, objective: Optional[str] = None,
          direction: Optional[str] = None) -> TrialTable:
  """The table of a Keras Tuner project. `objective` and `direction`: the oracle's."""
  return from_items(load_trials(project_dir), objective, direction)


def from_items(items: List[Dict[str, Any]], objective: Optional[str] = None,
               direction: Optional[str] = None) -> TrialTable:
  metrics = _metric_names(items, objective)
  directions = _directions(items, metrics)
  if objective and direction:
    directions[objective] = direction
  rows, names = [], []
  for item in items:
    row = _row(item, metrics, directions)
    values = hyperparameters.active_values_of_config(item['trial']['hyperparameters'])
    names += [name for name in values if name not in names]
    rows.append({**row, **values})
  return TrialTable(rows, metrics, directions, names, objective, items)


def _metric_names(items: List[Dict[str, Any]], objective: Optional[str]) -> List[str]:
  recorded = sorted({name for item in items for name in _metrics(item)
                     if name.startswith(trial_stats.VALIDATION_PREFIX) or name == objective})
  if objective:
    recorded = [objective] + [name for name in recorded if name != objective]
  return recorded


def _metrics(item: Dict[str, Any]) -> Dict[str, Any]:
  return item['trial'].get('metrics', {}).get('metrics', {})


def _directions(items: List[Dict[str, Any]], metrics: List[str]) -> Dict[str, str]:
  directions: Dict[str, str] = {}
  for item in items:
    for name in metrics:
      declared = (item['stats'].get('directions') or {}).get(name)
      recorded = (_metrics(item).get(name) or {}).get('direction')
      directions.setdefault(name, declared or recorded or 'min')
      if declared:
        directions[name] = declared
  return directions


def _row(item: Dict[str, Any], metrics: List[str], directions: Dict[str, str]) -> Dict[str, Any]:
  trial, stats = item['trial'], item['stats']
  values = trial['hyperparameters']['values']
  epoch_seconds = stats.get('epoch_seconds') or []
  return {
      'trial_id': trial['trial_id'],
      'status': trial.get('status'),
      'score': trial.get('score'),
      **{name: _best(_metrics(item).get(name), directions[name]) for name in metrics},
      'epochs_run': len(epoch_seconds),
      'initial_epoch': values.get('tuner/initial_epoch', 0),
      # The epoch at which a rule for weak trials stopped it (early_stopping.py).
      'stopped_early_at': stats.get('stopped_early_at'),
      'trainable_parameters': stats.get('trainable_parameters'),
      'seconds_per_epoch': (sum(epoch_seconds) / len(epoch_seconds)
                            if epoch_seconds else None),
      'trial_seconds': stats.get('trial_seconds'),
      'bracket': values.get('tuner/bracket'),
      'round': values.get('tuner/round'),
      'tuner_id': stats.get('tuner_id'),
      # host:pid of the Beam worker (trials on Beam) or of the process that ran the trial.
      'worker': stats.get('beam_worker') or stats.get('worker'),
      'error': (progress.trial_error(trial.get('message'), item.get('error_log'))
                if trials.is_failed(trial.get('status')) else None),
  }


def _best(history: Optional[Dict[str, Any]], direction: str) -> Optional[float]:
  """A metric's best value over a trial's observations, in the metric's direction."""
  if not history or not history.get('observations'):
    return None
  values = [o['value'][0] for o in history['observations']]
  return max(values) if direction == 'max' else min(values)


def best_first(table: TrialTable, direction: str) -> List[Dict[str, Any]]:
  """The completed rows, best first by the objective (trials.best_first's rule)."""
  return trials.best_first(table.completed(), direction, score=lambda r: r['score'],
                           trial_id=lambda r: r['trial_id'],
                           val_loss=lambda r: r.get('val_loss'))
