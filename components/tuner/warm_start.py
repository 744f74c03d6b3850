"""Warm start: the previous search's best configurations are tried first.

A scheduled run on new data gets a new search directory (its key includes a fingerprint of the
data). If an earlier search of the same settings exists beside it, its best configurations are
queued on the oracle (`enqueue`, search.py), which serves them before drawing its own.
"""

from __future__ import annotations

import posixpath
from typing import Any, Dict, List

from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import files, progress, trial_table


def previous_search(state_root: str, key: str) -> str:
  """The Keras Tuner project (whatever the tuner_fn named it) of the newest other search
  directory with the same settings, or ''."""
  settings = key.split('-')[0]
  oracles = fileio.glob(files.join(state_root, f'{settings}-*', '*', files.ORACLE_FILE))
  candidates = [path for path in oracles
                if posixpath.basename(posixpath.dirname(posixpath.dirname(path))) != key]
  if not candidates:
    return ''
  newest = max(candidates, key=lambda path: fileio.stat(path).mtime_nsec)
  return posixpath.dirname(newest)


def search_name(project_dir: str) -> str:
  """The search directory's name (<settings>-<data>) of a project in it."""
  return posixpath.basename(posixpath.dirname(project_dir.rstrip('/')))


def best_values(project_dir: str, count: int, direction: str) -> List[Dict[str, Any]]:
  """The `count` best distinct configurations of a Keras Tuner project, best first."""
  table = trial_table.build(project_dir)
  carried: List[Dict[str, Any]] = []
  for row in trial_table.best_first(table, direction):
    values = table.values_of(row)
    if values not in [c['values'] for c in carried]:
      carried.append({'from_trial': row['trial_id'], 'score': row['score'], 'values': values})
    if len(carried) == count:
      break
  return carried


def enqueue_previous_best(oracle, state_root: str, key: str, count: int) -> List[Dict[str, Any]]:
  """Queues the previous search's `count` best configurations; returns what was carried."""
  previous = previous_search(state_root, key)
  if not previous or not oracle.accepts_queue:  # grid search tries everything anyway
    return []
  carried = best_values(previous, count, oracle.objective.direction)
  for item in carried:
    item['from_search'] = search_name(previous)
  oracle.enqueue([item['values'] for item in carried])
  progress.say(f'  [Tuner] warm start: trying {len(carried)} configuration(s) from search '
               f'{search_name(previous)} first')
  return carried
