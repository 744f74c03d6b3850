"""The retune policy: search, or reuse hyperparameters found before.

    always           search on every run (the default)
    never            reuse the latest best hyperparameters; the first run ever searches
    if-data-changed  reuse them while the training data is the data they were tuned on

"The latest best hyperparameters" are kept by the Tuner itself, not found by the orchestrator:
every finished search copies its best values to a stable place under the search state
directory, one per dataset:

    <search_state_dir>/latest/<dataset signature>/best_hyperparameters.txt
    <search_state_dir>/latest/<dataset signature>/latest.json   tuned_on, results, written

So a local run, a Kubeflow run and a Vertex run decide the same way, with no ML Metadata query
(open-source KFP has no resolver executors: kubeflow/README.md). A file the user imports (the
`hyperparameters_file` parameter) takes their place. Either way the Tuner still emits
`best_hyperparameters`, so the Trainer is wired the same, and the artifact records where the
values came from (`hyperparameters_source`) and what data they were tuned on.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Optional

from tfx import types
from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import files, search_info, spec
from tfx_hypertune.components.tuner.policies import ALWAYS, IF_DATA_CHANGED, POLICIES

LATEST_DIR = 'latest'
LATEST_FILE = 'latest.json'


@dataclasses.dataclass(frozen=True)
class Decision:
  reason: str
  source_file: Optional[str] = None  # a best_hyperparameters.txt to reuse; None: search
  tuned_on: str = ''


@dataclasses.dataclass(frozen=True)
class PreviousSearch:
  """The latest finished search on one dataset, as remembered under the search state dir."""
  hyperparameters_file: str
  tuned_on: str        # the data fingerprint it searched
  results: str         # the tuner_results artifact of that run


def latest_dir(state_root: str, dataset: str) -> str:
  return files.join(state_root, LATEST_DIR, dataset)


def remember(state_root: str, dataset: str, hp_dir: str, data_hash: str,
             results_dir: str) -> str:
  """Keeps this search's best values as the dataset's latest; returns the folder."""
  folder = latest_dir(state_root, dataset)
  with fileio.open(files.join(hp_dir, files.BEST_HYPERPARAMETERS_FILE), 'r') as f:
    files.write_text(files.join(folder, files.BEST_HYPERPARAMETERS_FILE), f.read())
  # Written last: if a search dies between the two writes, the record still names the earlier
  # search's data, so `if-data-changed` searches again rather than trust the new file.
  files.write_json(files.join(folder, LATEST_FILE), {
      'tuned_on': data_hash, 'results': results_dir,
      'written': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})
  return folder


def previous_search(state_root: Optional[str], dataset: str) -> Optional[PreviousSearch]:
  if not state_root:
    return None
  folder = latest_dir(state_root, dataset)
  record = files.join(folder, LATEST_FILE)
  if not fileio.exists(record):
    return None
  values = files.read_json(record)
  return PreviousSearch(files.join(folder, files.BEST_HYPERPARAMETERS_FILE),
                        values.get('tuned_on', ''), values.get('results', ''))


def other_datasets_searched(state_root: Optional[str], dataset: str) -> bool:
  if not state_root or not fileio.exists(files.join(state_root, LATEST_DIR)):
    return False
  return any(name.strip('/') != dataset
             for name in fileio.listdir(files.join(state_root, LATEST_DIR)))


def decide(policy: Optional[str], imported_file: Optional[str], state_root: str,
           dataset: str, data_hash: str) -> Decision:
  """reuse_decision, reading the remembered search only when the policy may reuse it (the
  default `always` touches no file). An unknown policy stops the run, naming the parameter."""
  if (policy or ALWAYS) not in POLICIES:
    raise ValueError(f'Tuner parameter {spec.TUNING_POLICY_KEY}={policy!r}: choose one of '
                     f'{", ".join(POLICIES)}')
  if (policy or ALWAYS) == ALWAYS or imported_file:
    return reuse_decision(policy, imported_file, None, data_hash)
  previous = previous_search(state_root, dataset)
  return reuse_decision(
      policy, None, previous, data_hash,
      other_datasets=previous is None and other_datasets_searched(state_root, dataset))


def reuse_decision(policy: Optional[str], imported_file: Optional[str],
                   previous: Optional[PreviousSearch], data_hash: str,
                   other_datasets: bool = False) -> Decision:
  """Search or reuse. `previous` is the latest search on this dataset (same columns, types
  and label); `other_datasets` says whether searches on other datasets exist, for the reason."""
  policy = policy or ALWAYS
  if policy == ALWAYS:
    return Decision('searching')
  if imported_file:
    return Decision(f'reusing the imported file {imported_file}', source_file=imported_file)
  if previous is None:
    if other_datasets:
      return Decision('searching: the earlier best hyperparameters were tuned on another '
                      'dataset (other columns or label)')
    return Decision('searching: no earlier search on this dataset (first run)')
  if policy == IF_DATA_CHANGED and previous.tuned_on != data_hash:
    return Decision('searching: the training data changed since the last search')
  return Decision(f'reusing the best hyperparameters of an earlier search '
                  f'({previous.hyperparameters_file}, from {previous.results})',
                  source_file=previous.hyperparameters_file, tuned_on=previous.tuned_on)


def reuse(decision: Decision, hp_artifact: types.Artifact) -> search_info.SearchInfo:
  """Emits the reused hyperparameters as this run's best_hyperparameters; no search runs.
  Returns what search_info.json records."""
  with fileio.open(decision.source_file, 'r') as f:
    text = f.read()
  try:
    json.loads(text)  # fail here, naming the file, rather than in the Trainer
  except ValueError as e:
    raise ValueError(f'{decision.source_file}: not a best_hyperparameters file ({e})') from None
  files.write_text(files.join(hp_artifact.uri, files.BEST_HYPERPARAMETERS_FILE), text)
  hp_artifact.set_string_custom_property(spec.SOURCE_PROPERTY, decision.reason)
  hp_artifact.set_string_custom_property(spec.TUNED_ON_PROPERTY, decision.tuned_on)
  return search_info.SearchInfo(hyperparameters_source=decision.reason, trials_run=0,
                                reused_file=decision.source_file)


def mark_searched(info: search_info.SearchInfo, hp_artifact: types.Artifact, data_hash: str,
                  results_dir: str, reason: str) -> None:
  """Records on the artifact, and in the search's record, that a search found these values."""
  source = f'search: {info.trials_completed} completed trials ({results_dir})'
  hp_artifact.set_string_custom_property(spec.SOURCE_PROPERTY, source)
  hp_artifact.set_string_custom_property(spec.TUNED_ON_PROPERTY, data_hash)
  info.hyperparameters_source = source
  info.tuning_decision = reason
