"""search_info.json: how one execution of the Tuner got its hyperparameters, as one typed
record. The executor writes it into its tuner_results artifact; the `hypertune` command (its
summary, `hypertune report`) and anyone else read it back through the same record.

Fields that do not apply stay None: a run that reused earlier values (tuning: never, a
hyperparameters file) has no search fields; a search without a clock has no clock fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

from tfx_hypertune.components.tuner import files


@dataclasses.dataclass
class SearchInfo:
  # Where the values came from: 'search: N completed trials (...)', or a reuse's reason.
  hyperparameters_source: str = ''
  # A reuse (no search): the file the values came from, and trials_run 0.
  reused_file: Optional[str] = None
  trials_run: Optional[int] = None
  # The search: why it ran (the retune policy's reason), where its state is, what it did.
  tuning_decision: Optional[str] = None
  search_state_dir: Optional[str] = None
  tuner_project_dir: Optional[str] = None
  resumed: Optional[bool] = None
  trials_finished_before_this_run: List[str] = dataclasses.field(default_factory=list)
  trials_completed: Optional[int] = None
  objective: Optional[str] = None
  direction: Optional[str] = None  # 'max' or 'min': the oracle's
  carried_over: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # warm start
  parallel_trials: Optional[int] = None
  parallel_trials_requested: Optional[int] = None
  worker_failures: List[str] = dataclasses.field(default_factory=list)
  trials_on: Optional[str] = None
  beam: Optional[Dict[str, Any]] = None  # trials on Beam: runner, slots, job seconds, ...
  failed_trials: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
  # Weak trials stopped while they trained (trial_stopping): the rule, {trial id: epoch}, and
  # the epochs every trial of the search trained.
  trial_stopping: Optional[str] = None
  stopped_early: Dict[str, int] = dataclasses.field(default_factory=dict)
  epochs_trained: Optional[int] = None
  # The clock (max_minutes): what it did.
  max_minutes: Optional[float] = None
  stopped_by_clock: bool = False
  planned_trials_not_run: Optional[int] = None
  search_seconds: Optional[float] = None
  longest_trial_seconds: Optional[float] = None
  # Which trial the Trainer got, and why (selection.Choice.record()).
  selection: Optional[Dict[str, Any]] = None
  unreadable_state_set_aside: List[str] = dataclasses.field(default_factory=list)
  report: Optional[str] = None
  remembered_as_latest: Optional[str] = None

  @property
  def searched(self) -> bool:
    """Whether a search ran (else earlier values were reused)."""
    return self.direction is not None

  def to_json(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, values: Dict[str, Any]) -> 'SearchInfo':
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in known})


def write(tuner_results_uri: str, info: SearchInfo) -> None:
  files.write_json(files.join(tuner_results_uri, files.SEARCH_INFO_FILE), info.to_json())


def read(tuner_results_uri: str) -> SearchInfo:
  """The record of a tuner_results artifact (an empty one if it has none)."""
  return SearchInfo.from_json(files.read_json(
      files.join(tuner_results_uri, files.SEARCH_INFO_FILE), default={}))
