"""Tuner executor: run the tuner_fn's search and record every trial.

Unlike the stock executor (tfx/components/tuner/executor.py) it
- never calls `oracle.get_best_trials(oracle.max_trials)`, which crashes for Hyperband
  because Hyperband leaves max_trials unset (tensorflow/tfx#7778);
- searches inside the `tuner_results` artifact, so every trial's files outlive the run;
- writes a trials.csv table beside the stock JSON results.
"""

from __future__ import annotations

import csv
import json
import os
from typing import Any, Dict, List

from tfx import types
from tfx.components.trainer import fn_args_utils
from tfx.components.tuner import executor as stock_executor
from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils, standard_component_specs

BEST_HYPERPARAMETERS_FILE = 'best_hyperparameters.txt'  # the stock name: Trainer reads it
TUNER_RESULTS_FILE = 'tuner_results.json'  # the stock format: completed trials, best first
TRIALS_CSV = 'trials.csv'
SEARCH_DIR = 'search'  # Keras Tuner's own trial files, under the tuner_results artifact


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    if stock_executor.get_tune_args(exec_properties):
      raise ValueError('tune_args: not supported; set parallel trials in the config instead')
    results_dir = artifact_utils.get_single_uri(
        output_dict[standard_component_specs.TUNER_RESULTS_KEY])
    fn_args = fn_args_utils.get_common_fn_args(
        input_dict, exec_properties, working_dir=os.path.join(results_dir, SEARCH_DIR))
    tuner_fn = udf_utils.get_fn(exec_properties, 'tuner_fn')
    result = tuner_fn(fn_args)
    result.tuner.search(**result.fit_kwargs)
    hp_dir = artifact_utils.get_single_uri(
        output_dict[standard_component_specs.BEST_HYPERPARAMETERS_KEY])
    write_results(result.tuner.oracle, hp_dir, results_dir)


def completed_trials(oracle) -> List[Any]:
  """Every completed trial, best first (all of them, whatever max_trials says)."""
  done = [t for t in oracle.trials.values() if t.status == 'COMPLETED' and t.score is not None]
  return sorted(done, key=lambda t: t.score, reverse=oracle.objective.direction == 'max')


def write_results(oracle, hp_dir: str, results_dir: str) -> None:
  trials = completed_trials(oracle)
  if not trials:
    raise RuntimeError('Tuner: no trial completed; see the trial errors above')
  os.makedirs(hp_dir, exist_ok=True)
  with open(os.path.join(hp_dir, BEST_HYPERPARAMETERS_FILE), 'w') as f:
    json.dump(trials[0].hyperparameters.get_config(), f)
  rows = [trial_row(t) for t in trials]
  with open(os.path.join(results_dir, TUNER_RESULTS_FILE), 'w') as f:
    json.dump([{'trial_id': r['trial_id'], 'score': r['score'],
                **trials[i].hyperparameters.values} for i, r in enumerate(rows)], f)
  write_csv(os.path.join(results_dir, TRIALS_CSV), rows)


def trial_row(trial) -> Dict[str, Any]:
  values = trial.hyperparameters.values
  metrics = trial.metrics
  row = {'trial_id': trial.trial_id, 'score': trial.score}
  for name in ('val_accuracy', 'val_loss', 'accuracy', 'loss'):
    row[name] = metrics.get_best_value(name) if metrics.exists(name) else None
  row['epochs'] = values.get('tuner/epochs')
  row['bracket'] = values.get('tuner/bracket')
  row['round'] = values.get('tuner/round')
  row.update({k: v for k, v in values.items() if not k.startswith('tuner/')})
  return row


def write_csv(path: str, rows: List[Dict[str, Any]]) -> None:
  columns: List[str] = []
  for row in rows:
    columns += [c for c in row if c not in columns]
  with open(path, 'w', newline='') as f:
    writer = csv.DictWriter(f, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
