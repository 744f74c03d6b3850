"""Warm start: the previous search's best configurations are tried first.

A scheduled run on new data gets a new search directory (its key includes a fingerprint of the
data). If an earlier search of the same settings exists beside it, its best configurations go
into a queue that the oracle serves before drawing random ones.
"""

from __future__ import annotations

import glob
import os
from typing import Any, Dict, List

from components.tuner import report
from components.tuner_fn import TRIALS_PROJECT



class _QueuedValuesOracle:
  """Mixin over a Keras Tuner oracle: `_random_values` (used by random search, Bayesian
  optimization's initial points and Hyperband's first rounds) returns queued values first."""

  _warm_start_queue: List[Dict[str, Any]] = []

  def _random_values(self):
    while self._warm_start_queue:
      values = self._warm_start_queue.pop(0)
      values_hash = self._compute_values_hash(values)
      if values_hash not in self._tried_so_far:
        self._tried_so_far.add(values_hash)
        return dict(values)
    return super()._random_values()


def previous_search(state_root: str, key: str) -> str:
  """The newest other search directory with the same settings, or ''."""
  settings = key.split('-')[0]
  candidates = [d for d in glob.glob(os.path.join(state_root, f'{settings}-*'))
                if os.path.basename(d) != key
                and os.path.isfile(os.path.join(d, TRIALS_PROJECT, 'oracle.json'))]
  if not candidates:
    return ''
  return max(candidates, key=lambda d: os.path.getmtime(os.path.join(d, TRIALS_PROJECT,
                                                                        'oracle.json')))


def best_values(search_dir: str, count: int, direction: str) -> List[Dict[str, Any]]:
  rows = [r for r in report.trial_rows(report.load_trials(os.path.join(search_dir,
                                                                        TRIALS_PROJECT)))
          if r['status'] == 'COMPLETED' and r['score'] is not None]
  sign = -1 if direction == 'max' else 1
  rows.sort(key=lambda r: (sign * r['score'], r['trial_id']))  # ties: the earlier trial
  carried = []
  for row in rows:
    values = report.hyperparameters_of(row)
    if values not in [c['values'] for c in carried]:
      carried.append({'from_trial': row['trial_id'], 'score': row['score'], 'values': values})
    if len(carried) == count:
      break
  return carried


def enqueue_previous_best(oracle, state_root: str, key: str, count: int) -> List[Dict[str, Any]]:
  """Queues the previous search's `count` best configurations; returns what was carried."""
  previous = previous_search(state_root, key)
  if not previous:
    return []
  carried = best_values(previous, count, oracle.objective.direction)
  for item in carried:
    item['from_search'] = os.path.basename(previous)
  # Swap in the queue-serving subclass of the oracle's own class (the tuner built the oracle).
  oracle.__class__ = type(f'WarmStart{type(oracle).__name__}',
                          (_QueuedValuesOracle, type(oracle)), {})
  oracle._warm_start_queue = [dict(item['values']) for item in carried]
  print(f'  [Tuner] warm start: trying {len(carried)} configuration(s) from search '
        f'{os.path.basename(previous)} first', flush=True)
  return carried
