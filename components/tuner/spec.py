"""The Tuner's contract, in one place: its parameters, inputs and outputs (TunerSpec), the
files it writes into its artifacts and search state, and small readers and writers for them.

Everything that writes or reads these files (the executor, the search API, warm start, the
report, the application's results and CLI) imports the names and helpers from here. All I/O
goes through TFX's fileio, so a pipeline root may be a bucket (gs://, s3://) as well as a
local folder.

    <tuner_results>/
      tuner_results.json    the stock format: completed trials, best first
      search_info.json      how this run got its hyperparameters (searched? resumed? reused?)
      trials.csv, report.html, *.png, tensorboard/    the trial report (report.py)
      search/trials/...     a copy of Keras Tuner's trial files (no checkpoints)
    <best_hyperparameters>/best_hyperparameters.txt   HyperParameters.get_config() + budget
    <search_state_dir>/<settings hash>-<data hash>/     fn_args.working_dir of tuner_fn
        <project_name>/   the live Keras Tuner project (any name the tuner_fn gives it)
            oracle.json, trial_<id>/trial.json, trial_<id>/trial_stats.json, checkpoints
    <search_state_dir>/latest/<dataset>/   the latest search's best values (tuning.py)
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from tfx.dsl.io import fileio
from tfx.types import standard_component_specs
from tfx.types.component_spec import ExecutionParameter

# ---------------------------------------------------------------------------------------------
# Parameters and inputs beyond the stock TunerSpec.

MAX_EPOCHS_KEY = 'max_epochs'            # the budget: runtime parameters on Kubeflow; they
MAX_TRIALS_KEY = 'max_trials'            # override custom_config's search settings
TUNING_POLICY_KEY = 'tuning'             # always | never | if-data-changed (tuning.py)
HYPERPARAMETERS_FILE_KEY = 'hyperparameters_file'  # an imported best_hyperparameters.txt
PARALLEL_TRIALS_KEY = 'parallel_trials'  # Keras Tuner worker processes (parallel.py)
WARM_START_TRIALS_KEY = 'warm_start_trials'  # previous best configurations tried first
SEARCH_STATE_DIR_KEY = 'search_state_dir'  # where search state outlives executions
MAX_MINUTES_KEY = 'max_minutes'  # the search's clock (a runtime parameter on Kubeflow; 0: none)
SELECT_KEY = 'select'            # best | smallest_within | fastest_within (selection.py)
SELECT_TOLERANCE_KEY = 'select_tolerance'  # how far below the best, in the objective's units
TRIALS_ON_KEY = 'trials_on'      # local | beam (policies.TRIALS_ON): where trials run


class TunerSpec(standard_component_specs.TunerSpec):
  PARAMETERS = {
      **standard_component_specs.TunerSpec.PARAMETERS,
      MAX_EPOCHS_KEY: ExecutionParameter(type=int, optional=True),
      MAX_TRIALS_KEY: ExecutionParameter(type=int, optional=True),
      TUNING_POLICY_KEY: ExecutionParameter(type=str, optional=True),
      HYPERPARAMETERS_FILE_KEY: ExecutionParameter(type=str, optional=True),
      PARALLEL_TRIALS_KEY: ExecutionParameter(type=int, optional=True),
      WARM_START_TRIALS_KEY: ExecutionParameter(type=int, optional=True),
      SEARCH_STATE_DIR_KEY: ExecutionParameter(type=str, optional=True),
      MAX_MINUTES_KEY: ExecutionParameter(type=float, optional=True),
      SELECT_KEY: ExecutionParameter(type=str, optional=True),
      SELECT_TOLERANCE_KEY: ExecutionParameter(type=float, optional=True),
      TRIALS_ON_KEY: ExecutionParameter(type=str, optional=True),
  }


# Custom properties of the best_hyperparameters artifact.
SOURCE_PROPERTY = 'hyperparameters_source'  # where the values came from (search, reuse, file)
TUNED_ON_PROPERTY = 'tuned_on_data'         # fingerprint of the data they were tuned on
DATASET_PROPERTY = 'dataset'                # the dataset's signature: columns, types, label

# ---------------------------------------------------------------------------------------------
# File names.

BEST_HYPERPARAMETERS_FILE = 'best_hyperparameters.txt'  # the stock name: the Trainer reads it
TUNER_RESULTS_FILE = 'tuner_results.json'
SEARCH_INFO_FILE = 'search_info.json'
SEARCH_DIR = 'search'          # in tuner_results: a copy of the trial files
TRIALS_PROJECT = 'trials'      # Keras Tuner's project folder inside a search directory
ORACLE_FILE = 'oracle.json'    # Keras Tuner's oracle state: present once a search began
TRIAL_FILE = 'trial.json'      # Keras Tuner's per-trial record
TRIAL_STATS_FILE = 'trial_stats.json'  # ours, beside trial.json: parameters, epoch seconds
TRIAL_ERROR_FILE = 'trial_error.log'   # ours, beside trial.json: a failed trial's traceback
TRIALS_CSV = 'trials.csv'
REPORT_HTML = 'report.html'
TENSORBOARD_DIR = 'tensorboard'
# In best_hyperparameters.txt beside Keras Tuner's config: the budget the search really used
# (on Kubeflow max_epochs may be a runtime parameter), which the Trainer trains within.
BUDGET_FIELD = 'search_budget'
BEST_EPOCHS_KEY = 'best_epochs'  # in BUDGET_FIELD: epochs the best trial needed for its best
# In best_hyperparameters.txt and search_info.json: which trial was chosen and why (selection.py).
SELECTION_FIELD = 'selection'


# Keras Tuner's status of a finished trial (TrialStatus.COMPLETED), as trial.json and trials.csv
# spell it. A trial counts once it has this status: every filter of finished trials goes
# through is_completed.
COMPLETED = 'COMPLETED'


def is_completed(status: Optional[str]) -> bool:
  return status == COMPLETED


# Keras Tuner's statuses of a trial that ended without a result: FAILED (no more retries) and
# INVALID (crashed; retried while max_retries_per_trial allows).
FAILED_STATUSES = ('FAILED', 'INVALID')


def is_failed(status: Optional[str]) -> bool:
  return status in FAILED_STATUSES


def last_line(message: Optional[str]) -> str:
  """The last non-empty line of a trial's message: the error of a traceback."""
  lines = [line.strip() for line in (message or '').splitlines() if line.strip()]
  return lines[-1] if lines else 'no message'


def join(*parts: str) -> str:
  """Path join for local paths and bucket URIs alike (always '/')."""
  return posixpath.join(*parts)


def trial_dir(project_dir: str, trial_id: str) -> str:
  """A trial's folder in a Keras Tuner project (Tuner.get_trial_dir's layout)."""
  return join(project_dir, f'trial_{trial_id}')


def trial_dirs(project_dir: str) -> List[str]:
  """The trial_<id> folders of a Keras Tuner project, in trial order."""
  return sorted(posixpath.dirname(p) for p in fileio.glob(join(project_dir, 'trial_*',
                                                                  TRIAL_FILE)))


def has_search_under(working_dir: str) -> bool:
  """Whether a Keras Tuner project (any project_name a tuner_fn chose) began under the
  tuner's working directory."""
  return bool(fileio.glob(join(working_dir, '*', ORACLE_FILE)))


# ---------------------------------------------------------------------------------------------
# Readers and writers.


def read_json(path: str, default: Any = None) -> Any:
  if default is not None and not fileio.exists(path):
    return default
  with fileio.open(path, 'r') as f:
    return json.loads(f.read())


def write_json(path: str, value: Any) -> None:
  """Writes a temporary file beside `path` and renames it into place: a kill mid-write
  leaves the old file or the new one, never a truncated one."""
  fileio.makedirs(posixpath.dirname(path))
  partial = f'{path}.partial-{os.getpid()}'
  with fileio.open(partial, 'w') as f:
    f.write(json.dumps(value, indent=1))
  fileio.rename(partial, path, overwrite=True)


def unreadable_json(paths: Iterable[str]) -> Optional[Tuple[str, str]]:
  """(path, why) of the first file that is not valid JSON (cut short by a kill, say)."""
  for path in paths:
    try:
      read_json(path)
    except (ValueError, UnicodeDecodeError) as e:
      return path, ' '.join(str(e).split())
  return None


def project_state_files(project_dir: str) -> List[str]:
  """The files Keras Tuner reloads a project from: oracle.json, its tuner's file, and every
  trial.json."""
  return sorted(fileio.glob(join(project_dir, '*.json'))) + [
      join(trial_dir, TRIAL_FILE) for trial_dir in trial_dirs(project_dir)]


def update_json(path: str, values: Dict[str, Any]) -> None:
  write_json(path, {**read_json(path, default={}), **values})


def write_text(path: str, text: str) -> None:
  fileio.makedirs(posixpath.dirname(path))
  with fileio.open(path, 'w') as f:
    f.write(text)


def write_bytes(path: str, data: bytes) -> None:
  fileio.makedirs(posixpath.dirname(path))
  with fileio.open(path, 'wb') as f:
    f.write(data)


def read_best_hyperparameters(hyperparameters_uri: str) -> Dict[str, Any]:
  """The best_hyperparameters.txt of an artifact: HyperParameters.get_config() (+ budget)."""
  return read_json(join(hyperparameters_uri, BEST_HYPERPARAMETERS_FILE))


def write_best_hyperparameters(hyperparameters_uri: str, config: Dict[str, Any]) -> None:
  write_json(join(hyperparameters_uri, BEST_HYPERPARAMETERS_FILE), config)


def read_search_info(tuner_results_uri: str) -> Dict[str, Any]:
  return read_json(join(tuner_results_uri, SEARCH_INFO_FILE), default={})


def count_trials(project_dir: str) -> int:
  """Trials a search has started (one trial.json each), whatever their status."""
  return len(trial_dirs(project_dir))


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


def search_dir_of(tuner_results_uri: str) -> str:
  """The copy of the trial files inside a tuner_results artifact."""
  return join(tuner_results_uri, SEARCH_DIR, TRIALS_PROJECT)


def optional_int(value: Optional[Any]) -> Optional[int]:
  return None if value in (None, '') else int(value)
