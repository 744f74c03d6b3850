"""The Tuner's contract with the pipeline around it: its parameters beyond the stock TunerSpec,
the custom properties it sets on its output artifact, and where its search state lives by
default. The files it writes are files.py's; search_info.json is search_info.py's.
"""

from __future__ import annotations

import posixpath
from typing import Any, Dict, Optional

from tfx.types import standard_component_specs
from tfx.types.component_spec import ExecutionParameter

# ---------------------------------------------------------------------------------------------
# Parameters and inputs beyond the stock TunerSpec.

MAX_EPOCHS_KEY = 'max_epochs'            # the budget: runtime parameters on Kubeflow; they
MAX_TRIALS_KEY = 'max_trials'            # override custom_config's search settings
TUNING_POLICY_KEY = 'tuning'             # always | never | if-data-changed (tuning.py)
HYPERPARAMETERS_FILE_KEY = 'hyperparameters_file'  # an imported best_hyperparameters.txt
PARALLEL_TRIALS_KEY = 'parallel_trials'  # Keras Tuner worker processes (local_pool.py)
WARM_START_TRIALS_KEY = 'warm_start_trials'  # previous best configurations tried first
SEARCH_STATE_DIR_KEY = 'search_state_dir'  # where search state outlives executions
MAX_MINUTES_KEY = 'max_minutes'  # the search's clock (a runtime parameter on Kubeflow; 0: none)
SELECT_KEY = 'select'            # best | smallest_within | fastest_within (selection.py)
SELECT_TOLERANCE_KEY = 'select_tolerance'  # how far below the best, in the objective's units
TRIALS_ON_KEY = 'trials_on'      # local | beam (policies.TRIALS_ON): where trials run
# none | median: weak trials stop early (early_stopping.py)
TRIAL_STOPPING_KEY = 'trial_stopping'


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
      TRIAL_STOPPING_KEY: ExecutionParameter(type=str, optional=True),
  }


# Custom properties of the best_hyperparameters artifact.
SOURCE_PROPERTY = 'hyperparameters_source'  # where the values came from (search, reuse, file)
TUNED_ON_PROPERTY = 'tuned_on_data'         # fingerprint of the data they were tuned on
DATASET_PROPERTY = 'dataset'                # the dataset's signature: columns, types, label


# Where search state outlives executions when the Tuner is not told (search_state_dir): the
# folder TunerState beside the node's outputs, <pipeline_root>/<node id>/TunerState. The one
# default: the executor derives it from its output URI in TFX's layout
# (<pipeline_root>/<node id>/<output>/<execution id>); a pipeline that knows its root passes
# the same folder explicitly (on Kubeflow an output URI is per run, and nothing would resume).
STATE_FOLDER = 'TunerState'


def default_state_dir(pipeline_root: str, node_id: str = 'Tuner') -> str:
  return posixpath.join(pipeline_root.rstrip('/'), node_id, STATE_FOLDER)


def state_dir_beside(output_uri: str) -> str:
  """default_state_dir of the node whose output (in TFX's layout) is `output_uri`."""
  return posixpath.join(posixpath.dirname(posixpath.dirname(output_uri.rstrip('/'))),
                        STATE_FOLDER)


def optional_int(value: Optional[Any]) -> Optional[int]:
  return None if value in (None, '') else int(value)


# ---------------------------------------------------------------------------------------------
# The parameters checked: a value a pipeline fixes when it is built is checked then (the
# component), a runtime parameter when the executor reads it. Each error is one line naming
# the parameter, as the stock Tuner names a missing module.


def is_placeholder(value: Any) -> bool:
  """A runtime parameter (or another placeholder) whose value is known only at run time."""
  return value is not None and not isinstance(value, (str, int, float, bool))


def check_parameters(values: Dict[str, Any]) -> None:
  """Raises ValueError, naming the parameter, for the first value that cannot work."""
  from tfx_hypertune.components.tuner import policies, selection
  choices = {TUNING_POLICY_KEY: policies.POLICIES, TRIALS_ON_KEY: policies.TRIALS_ON,
             SELECT_KEY: selection.RULES, TRIAL_STOPPING_KEY: policies.TRIAL_STOPPING_RULES}
  for key, allowed in choices.items():
    value = values.get(key)
    if value is not None and not is_placeholder(value) and value not in allowed:
      raise ValueError(f'Tuner parameter {key}={value!r}: choose one of {", ".join(allowed)}')
  minimum = {MAX_EPOCHS_KEY: 1, MAX_TRIALS_KEY: 1, PARALLEL_TRIALS_KEY: 1,
             WARM_START_TRIALS_KEY: 0, MAX_MINUTES_KEY: 0, SELECT_TOLERANCE_KEY: 0}
  for key, least in minimum.items():
    value = values.get(key)
    if value is None or value == '' or is_placeholder(value):
      continue
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < least:
      what = {0: 'must be 0 or more', 1: 'must be a positive integer'}[least]
      if key == MAX_MINUTES_KEY:
        what += ' (minutes; 0: no clock)'
      raise ValueError(f'Tuner parameter {key}={value!r}: {what}')


def requested_workers(exec_properties: Dict[str, Any], stock_parallel_trials: int = 0) -> int:
  """Parallel trials asked for: the stock tune_args.num_parallel_trials or our
  parallel_trials (both given, they must agree)."""
  ours = optional_int(exec_properties.get(PARALLEL_TRIALS_KEY)) or 0
  if stock_parallel_trials and ours and stock_parallel_trials != ours:
    raise ValueError(f'tune_args.num_parallel_trials={stock_parallel_trials} and '
                     f'parallel_trials={ours}: give one of them')
  if min(stock_parallel_trials, ours) < 0:
    raise ValueError('parallel trials: must be a positive integer')
  return max(1, stock_parallel_trials or ours)


def warm_start_count(exec_properties: Dict[str, Any]) -> int:
  """How many of the previous search's best configurations a new search tries first: the
  `warm_start_trials` parameter, policies.DEFAULT_WARM_START_TRIALS when it is not given."""
  from tfx_hypertune.components.tuner import policies
  value = optional_int(exec_properties.get(WARM_START_TRIALS_KEY))
  if value is None:
    return policies.DEFAULT_WARM_START_TRIALS
  check_parameters({WARM_START_TRIALS_KEY: value})
  return value


def trials_location(exec_properties: Dict[str, Any]) -> str:
  from tfx_hypertune.components.tuner import policies
  value = exec_properties.get(TRIALS_ON_KEY) or policies.TRIALS_LOCAL
  check_parameters({TRIALS_ON_KEY: value})
  return value


def trial_stopping(exec_properties: Dict[str, Any]) -> str:
  """The rule for weak trials (policies.TRIAL_STOPPING_RULES; default DEFAULT_TRIAL_STOPPING)."""
  from tfx_hypertune.components.tuner import policies  # imports nothing: light
  value = exec_properties.get(TRIAL_STOPPING_KEY) or policies.DEFAULT_TRIAL_STOPPING
  check_parameters({TRIAL_STOPPING_KEY: value})
  return value


def max_minutes(exec_properties: Dict[str, Any]) -> Optional[float]:
  """The search's clock in minutes (None: no clock; 0 means none too)."""
  value = exec_properties.get(MAX_MINUTES_KEY)
  minutes = float(value) if value not in (None, '') else 0.0
  check_parameters({MAX_MINUTES_KEY: minutes})
  return minutes or None
