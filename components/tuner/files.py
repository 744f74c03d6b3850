"""The files the Tuner writes, and small readers and writers for them, in one place.

Everything that writes or reads these files (the executor, the oracle and tuner mixins, warm
start, the report, the application's results and CLI) imports the names and helpers from here.
All I/O goes through TFX's fileio, so a pipeline root may be a bucket (gs://, s3://) as well
as a local folder. JSON state is written whole (a temporary file renamed into place).

    <tuner_results>/
      tuner_results.json    the stock format: completed trials, best first
      search_info.json      how this run got its hyperparameters (search_info.py)
      trials.csv, report.html, *.png, tensorboard/    the trial report (report.py)
      search/trials/...     a copy of Keras Tuner's trial files (no checkpoints)
    <best_hyperparameters>/best_hyperparameters.txt   HyperParameters.get_config() + budget
    <search_state_dir>/<settings hash>-<data hash>/     fn_args.working_dir of tuner_fn
        worker_args.json  what parallel workers and Beam trial processes rebuild the tuner from
        <project_name>/   the live Keras Tuner project (any name the tuner_fn gives it)
            oracle.json, trial_<id>/trial.json, trial_<id>/trial_stats.json,
            trial_<id>/trial_error.log, checkpoints
    <search_state_dir>/latest/<dataset>/   the latest search's best values (tuning.py)
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any, Dict, Iterable, List, Optional, Tuple

from tfx.dsl.io import fileio

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
# In the search directory: what a parallel worker or a Beam trial process rebuilds the tuner
# from (worker.build_tuner_from), and {tuner_id: pid} of the running local workers.
WORKER_ARGS_FILE = 'worker_args.json'
WORKER_PIDS_FILE = 'worker_pids.json'


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


def count_trials(project_dir: str) -> int:
  """Trials a search has started (one trial.json each), whatever their status."""
  return len(trial_dirs(project_dir))


def search_dir_of(tuner_results_uri: str) -> str:
  """The copy of the trial files inside a tuner_results artifact."""
  return join(tuner_results_uri, SEARCH_DIR, TRIALS_PROJECT)
