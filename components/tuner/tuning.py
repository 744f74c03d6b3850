"""The retune policy: search, or reuse hyperparameters found before.

    always           search on every run (the default)
    never            reuse the latest best hyperparameters; the first run ever searches
    if-data-changed  reuse them while the training data is the data they were tuned on

"The latest best hyperparameters" come from ML Metadata: a resolver hands the Tuner the newest
HyperParameters artifact of the pipeline (`previous_hyperparameters`). A file the user imports
(the `hyperparameters_file` parameter) takes their place. Either way the Tuner still emits
`best_hyperparameters`, so the Trainer is wired the same, and the artifact records where the
values came from (`hyperparameters_source`) and what data they were tuned on.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.dsl.io import fileio

from components.tuner import spec

POLICIES = ('always', 'never', 'if-data-changed')


@dataclasses.dataclass(frozen=True)
class Decision:
  reason: str
  source_file: Optional[str] = None  # a best_hyperparameters.txt to reuse; None: search
  tuned_on: str = ''


def reuse_decision(policy: Optional[str], imported_file: Optional[str],
                   previous: List[types.Artifact], data_hash: str,
                   dataset: str = '') -> Decision:
  """Search or reuse; `previous` counts only if tuned on the same `dataset` (signature)."""
  policy = policy or 'always'
  if policy == 'always':
    return Decision('searching')
  if imported_file:
    return Decision(f'reusing the imported file {imported_file}', source_file=imported_file)
  same_dataset = [a for a in previous if _string_property(a, spec.DATASET_PROPERTY) == dataset]
  if previous and not same_dataset:
    return Decision('searching: the earlier best hyperparameters in ML Metadata were tuned on '
                    'another dataset (other columns or label)')
  previous = same_dataset
  if not previous:
    return Decision('searching: no earlier best hyperparameters in ML Metadata (first run)')
  latest = previous[-1]
  tuned_on = _string_property(latest, spec.TUNED_ON_PROPERTY)
  if policy == 'if-data-changed' and tuned_on != data_hash:
    return Decision('searching: the training data changed since the last search')
  return Decision(f'reusing the best hyperparameters of an earlier run (ML Metadata: '
                  f'{latest.uri})',
                  source_file=spec.join(latest.uri, spec.BEST_HYPERPARAMETERS_FILE),
                  tuned_on=tuned_on)


def reuse(decision: Decision, hp_artifact: types.Artifact) -> Dict[str, Any]:
  """Emits the reused hyperparameters as this run's best_hyperparameters; no search runs.
  Returns what search_info.json records."""
  with fileio.open(decision.source_file, 'r') as f:
    text = f.read()
  try:
    json.loads(text)  # fail here, naming the file, rather than in the Trainer
  except ValueError as e:
    raise ValueError(f'{decision.source_file}: not a best_hyperparameters file ({e})') from None
  spec.write_text(spec.join(hp_artifact.uri, spec.BEST_HYPERPARAMETERS_FILE), text)
  hp_artifact.set_string_custom_property(spec.SOURCE_PROPERTY, decision.reason)
  hp_artifact.set_string_custom_property(spec.TUNED_ON_PROPERTY, decision.tuned_on)
  return {'hyperparameters_source': decision.reason, 'trials_run': 0,
          'reused_file': decision.source_file}


def mark_searched(hp_artifact: types.Artifact, trials: int, data_hash: str,
                  results_dir: str, reason: str) -> Dict[str, Any]:
  """Records on the artifact that a search found these values; returns the same for
  search_info.json."""
  source = f'search: {trials} completed trials ({results_dir})'
  hp_artifact.set_string_custom_property(spec.SOURCE_PROPERTY, source)
  hp_artifact.set_string_custom_property(spec.TUNED_ON_PROPERTY, data_hash)
  return {'hyperparameters_source': source, 'tuning_decision': reason}


def _string_property(artifact: types.Artifact, name: str) -> str:
  if artifact.has_custom_property(name):
    return str(artifact.get_custom_property(name))
  return ''
