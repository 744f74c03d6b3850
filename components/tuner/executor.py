"""Tuner executor: the stock Tuner's contract (any tuner_fn, any Keras Tuner tuner, the stock
outputs), with a search that resumes, warm-starts, runs trials in parallel and explains itself.

Unlike the stock executor (tfx/components/tuner/executor.py) it
- keeps the search state in a persistent directory keyed by the search settings and a
  fingerprint of the training data, so a search killed half-way resumes from its finished
  trials when the pipeline runs again (the stock one searches in a temporary directory);
- can try the best configurations of the previous search first (warm start);
- runs `tune_args.num_parallel_trials` (or `parallel_trials`) Keras Tuner workers against one
  chief oracle over gRPC on loopback (the stock one refuses tune_args), or with
  `trials_on='beam'` runs batches of that many trials as Beam pipelines on the Tuner's Beam
  runner, the oracle staying here (beam_trials.py);
- never calls `oracle.get_best_trials(oracle.max_trials)`, which crashes for Hyperband because
  Hyperband leaves max_trials unset (tensorflow/tfx#7778);
- prints a line per trial and writes a trial report (table, plots, TensorBoard HParams) into
  the tuner_results artifact.
It knows nothing of any model or custom_config layout: the tuner_fn builds the tuner, and the
dataset is known by what the pipeline gives any Tuner (the schema, the transform graph, or the
examples' own features). Its parameters, inputs, outputs and files are defined in spec.py.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import posixpath
import time
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.components.trainer import fn_args_utils
from tfx.components.tuner import executor as stock_executor
from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_beam_executor, base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import json_utils

from tfx_hypertune.components import filesystems
# First, so that tf.keras is Keras 3 here too, whatever imports tf.Transform later (keras3.py).
from tfx_hypertune.components.tuner import keras3  # pylint: disable=unused-import
from tfx_hypertune.components.tuner import (beam_trials, instrument, parallel, policies,
                                            progress, report, selection, spec, tuning,
                                            warm_pool, warm_start)


class Executor(base_beam_executor.BaseBeamExecutor):
  """Drop-in for tfx.components.tuner.executor.Executor (see the module docstring).

  A Beam executor, so that every TFX orchestrator hands it the Beam arguments (the pipeline's
  beam_pipeline_args and the Tuner's own with_beam_pipeline_args) for trials on Beam: the
  Kubeflow and Vertex entrypoints pass them only to a BaseBeamExecutor."""

  def __init__(self, context: Optional[base_executor.BaseExecutor.Context] = None):
    # Not BaseBeamExecutor.__init__: it would package the installed TFX as an --extra_package
    # for the workers (dependency_utils.make_beam_dependency_flags; what the trials' workers
    # need is this package, from the pipeline's image or the user's --setup_file), parse the
    # arguments as absl flags, and refuse a plain Context, which the stock Tuner's tests and
    # any caller of the stock executor give.
    base_executor.BaseExecutor.__init__(self, context)  # pylint: disable=non-parent-init-called
    self._beam_pipeline_args = list(getattr(context, 'beam_pipeline_args', None) or [])

  def beam_pipeline_args(self) -> List[str]:
    """The Tuner's Beam arguments (without them, Beam's default DirectRunner)."""
    return list(self._beam_pipeline_args)

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    requested = requested_workers(exec_properties)
    results_dir = artifact_utils.get_single_uri(
        output_dict[standard_component_specs.TUNER_RESULTS_KEY])
    state_root = (exec_properties.get(spec.SEARCH_STATE_DIR_KEY)
                  or default_state_root(results_dir))
    filesystems.support(results_dir, state_root)
    hp_artifact = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.BEST_HYPERPARAMETERS_KEY])
    # The budget parameters go to tuner_fn beside the user's own custom_config (the parallel
    # workers read the same exec_properties).
    exec_properties = {**exec_properties, standard_component_specs.CUSTOM_CONFIG_KEY:
                       json_utils.dumps(with_budget(exec_properties))}
    fn_args = fn_args_utils.get_common_fn_args(input_dict, exec_properties, working_dir=None)
    data_hash = data_fingerprint(fn_args.train_files + fn_args.eval_files)
    # Nothing is reused across datasets: search state, warm start and earlier best values
    # must come from data of the same columns and types.
    dataset = dataset_signature(fn_args)
    hp_artifact.set_string_custom_property(spec.DATASET_PROPERTY, dataset)
    policy = exec_properties.get(spec.TUNING_POLICY_KEY) or policies.ALWAYS
    reuse = tuning.decide(policy, exec_properties.get(spec.HYPERPARAMETERS_FILE_KEY) or None,
                          state_root, dataset, data_hash)
    print(f'  [Tuner] tuning {policy}: {reuse.reason}', flush=True)
    if reuse.source_file is not None:
      info = tuning.reuse(reuse, hp_artifact)
    else:
      key = search_key(exec_properties, dataset, data_hash)
      info = self._search(fn_args, key, requested, exec_properties, input_dict,
                          hp_artifact.uri, results_dir, state_root)
      info.update(tuning.mark_searched(hp_artifact, info['trials_completed'], data_hash,
                                       results_dir, reuse.reason))
      info['remembered_as_latest'] = tuning.remember(state_root, dataset, hp_artifact.uri,
                                                     data_hash, results_dir)
    spec.write_json(spec.join(results_dir, spec.SEARCH_INFO_FILE), info)

  def _search(self, fn_args, key: str, requested: int, exec_properties: Dict[str, Any],
              input_dict: Dict[str, List[types.Artifact]], hp_dir: str, results_dir: str,
              state_root: str) -> Dict[str, Any]:
    """Runs (or resumes) the search; writes the best hyperparameters and the report.
    Returns what search_info.json records about it."""
    trials_on = trials_location(exec_properties)
    # On Beam, parallel_trials is the batch size: the runner's workers, not this machine's
    # cores, run them.
    workers = requested if trials_on == policies.TRIALS_BEAM else parallel.worker_count(requested)
    if workers > 1 and trials_on == policies.TRIALS_LOCAL:
      # The workers' imports overlap with tuner_fn reading the data (a no-op if `hypertune
      # run` started the pool already).
      warm_pool.prewarm(exec_properties.get(standard_component_specs.TUNER_FN_KEY))
    working_dir = fn_args.working_dir = spec.join(state_root, key)
    set_aside = set_aside_unreadable_state(working_dir)
    resumed = spec.has_search_under(working_dir)
    tuner, fit_kwargs = instrument.build_tuner(exec_properties, fn_args)
    max_minutes = start_clock(tuner.oracle, exec_properties)
    finished_before = _completed_ids(tuner.oracle)
    print(f'  [Tuner] search state: {working_dir}'
          f'{f" (resuming: {len(finished_before)} trials already finished)" if resumed else ""}',
          flush=True)
    carried_over: List[Dict[str, Any]] = []
    warm_start_trials = warm_start_count(exec_properties)
    if not resumed and warm_start_trials:
      carried_over = warm_start.enqueue_previous_best(
          tuner.oracle, state_root, key, warm_start_trials)
    if workers < requested and trials_on == policies.TRIALS_LOCAL:
      print(f'  [Tuner] parallel trials {requested}: {workers} worker(s), as many as the '
            f'cores this container may use', flush=True)
    failures: List[str] = []
    beam: Optional[Dict[str, Any]] = None
    try:
      if trials_on == policies.TRIALS_BEAM:
        beam = beam_trials.search(tuner, workers, input_dict, exec_properties, working_dir,
                                  self.beam_pipeline_args())
      elif workers > 1:
        failures = parallel.search(tuner, workers, input_dict, exec_properties, working_dir)
      else:
        tuner.search(**fit_kwargs)
    except RuntimeError as e:
      # Keras Tuner stops a search after max_consecutive_failed_trials failures in a row, with
      # the last one's traceback in its message: said here in one line instead.
      if 'consecutive failures' not in str(e):
        raise
      raise TrialsFailedError(f'Tuner: {tuner.oracle.max_consecutive_failed_trials} trials in '
                              f'a row failed, and Keras Tuner stops a search then: '
                              f'{failure_summary(tuner)}') from None
    clock = clock_outcome(tuner.oracle, max_minutes)
    objective = tuner.oracle.objective
    trials = completed_trials(tuner.oracle)
    if not trials:
      raise TrialsFailedError(f'Tuner: no trial completed: {failure_summary(tuner)}')
    choice = select_trial(tuner.oracle, trials, tuner.project_dir, exec_properties)
    write_results(trials, instrument.budget_of(tuner.oracle, fit_kwargs), hp_dir, results_dir,
                  choice)
    _copy_trial_files(tuner.project_dir, spec.search_dir_of(results_dir))
    html_path = report.write_report(tuner.project_dir, results_dir, carried_over,
                                    objective=objective.name, direction=objective.direction,
                                    chosen=choice.record())
    print(f'  [Tuner] report: {html_path}', flush=True)
    return {
        'search_state_dir': working_dir,
        'tuner_project_dir': tuner.project_dir,
        'resumed': resumed,
        'trials_finished_before_this_run': sorted(finished_before),
        'trials_completed': len(_completed_ids(tuner.oracle)),
        'objective': objective.name,
        'direction': objective.direction,
        'carried_over': carried_over,
        'parallel_trials': workers,
        'parallel_trials_requested': requested,
        'worker_failures': failures,
        'trials_on': trials_on,
        'beam': beam,
        'failed_trials': failed_trials(tuner.oracle, tuner.project_dir),
        **clock,
        spec.SELECTION_FIELD: choice.record(),
        'unreadable_state_set_aside': set_aside,
        'report': html_path,
    }


class TrialsFailedError(RuntimeError):
  """The search ended without a trial to train: its message names the failures in one line."""


def failure_summary(tuner) -> str:
  """The failed trials in a few words: how many, the last one's error and where its
  traceback is."""
  failed = failed_trials(tuner.oracle, tuner.project_dir)
  if not failed:
    return 'no trial failed either (the search planned none?)'
  last = failed[-1]
  where = f' (full traceback: {last["traceback"]})' if last['traceback'] else ''
  return (f'{len(failed)} trial(s) failed; the last, trial {last["trial_id"]}: '
          f'{last["error"]}{where}')


def trials_location(exec_properties: Dict[str, Any]) -> str:
  value = exec_properties.get(spec.TRIALS_ON_KEY) or policies.TRIALS_LOCAL
  if value not in policies.TRIALS_ON:
    raise ValueError(f'trials_on={value!r}: choose one of {", ".join(policies.TRIALS_ON)}')
  return value


def failed_trials(oracle, project_dir: Optional[str] = None) -> List[Dict[str, Any]]:
  """Trials that ended without a result: their values, their error (the last line of its
  traceback) and where the whole traceback is (in the Keras Tuner project's trial folder)."""
  failed = []
  for trial in sorted(oracle.trials.values(), key=lambda t: t.trial_id):
    if not spec.is_failed(trial.status):
      continue
    log = (progress.error_log_path(spec.trial_dir(project_dir, trial.trial_id))
           if project_dir else None)
    failed.append({'trial_id': trial.trial_id, 'status': trial.status,
                   'values': instrument.active_values(trial.hyperparameters),
                   'error': progress.trial_error(trial.message, log),
                   'traceback': log if log and fileio.exists(log) else None})
  return failed


def set_aside_unreadable_state(working_dir: str) -> List[str]:
  """Keras Tuner cannot reload a project whose state files are cut short (a kill mid-write
  before they were written atomically, a full disk): every later run would fail the same
  way. Such a project is renamed aside, kept for inspection, and the search starts afresh.
  Returns the folders set aside."""
  moved = []
  for oracle_file in fileio.glob(spec.join(working_dir, '*', spec.ORACLE_FILE)):
    project = posixpath.dirname(oracle_file)
    broken = spec.unreadable_json(spec.project_state_files(project))
    if broken is None:
      continue
    # One level deeper, so that nothing looking for a project (*/oracle.json) finds it.
    aside = spec.join(working_dir, f'unreadable-{time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}',
                      posixpath.basename(project))
    fileio.makedirs(posixpath.dirname(aside))
    fileio.rename(project, aside)
    print(f'  [Tuner] search state {broken[0]} is unreadable ({broken[1][:120]}): set aside '
          f'as {aside}; searching afresh', flush=True)
    moved.append(aside)
  return moved


def warm_start_count(exec_properties: Dict[str, Any]) -> int:
  """How many of the previous search's best configurations a new search tries first: the
  `warm_start_trials` parameter, policies.DEFAULT_WARM_START_TRIALS when it is not given."""
  value = spec.optional_int(exec_properties.get(spec.WARM_START_TRIALS_KEY))
  if value is None:
    return policies.DEFAULT_WARM_START_TRIALS
  if value < 0:
    raise ValueError(f'{spec.WARM_START_TRIALS_KEY}={value}: must be 0 (off) or more')
  return value


def requested_workers(exec_properties: Dict[str, Any]) -> int:
  """Parallel trials asked for: the stock tune_args.num_parallel_trials or our
  parallel_trials (both given, they must agree)."""
  tune_args = stock_executor.get_tune_args(exec_properties)
  stock = tune_args.num_parallel_trials if tune_args else 0
  ours = spec.optional_int(exec_properties.get(spec.PARALLEL_TRIALS_KEY)) or 0
  if stock and ours and stock != ours:
    raise ValueError(f'tune_args.num_parallel_trials={stock} and parallel_trials={ours}: '
                     f'give one of them')
  if min(stock, ours) < 0:
    raise ValueError('parallel trials: must be a positive integer')
  return max(1, stock or ours)


def default_state_root(results_dir: str) -> str:
  """Without search_state_dir: beside the component's outputs (in TFX's layout
  <pipeline_root>/<node id>/tuner_results/<execution id>, that is <pipeline_root>/<node id>/
  TunerState), so the next execution of the same node finds it."""
  return spec.join(posixpath.dirname(posixpath.dirname(results_dir.rstrip('/'))), 'TunerState')


def start_clock(oracle, exec_properties: Dict[str, Any]) -> Optional[float]:
  """Gives the oracle its deadline, `max_minutes` from now (None or 0: no clock)."""
  value = exec_properties.get(spec.MAX_MINUTES_KEY)
  max_minutes = float(value) if value not in (None, '') else 0.0
  if max_minutes < 0:
    raise ValueError(f'{spec.MAX_MINUTES_KEY}: {value}: must be positive (0: no time limit)')
  if not max_minutes:
    return None
  if not isinstance(oracle, instrument.OracleExtras):
    raise ValueError(f'{spec.MAX_MINUTES_KEY}: {type(oracle).__name__} cannot be stopped by a '
                     f'clock (only a keras_tuner.Oracle can)')
  oracle.start_clock(60 * max_minutes)
  print(f'  [Tuner] clock: {max_minutes:g} minutes; no trial starts that would end after it, '
        f'going by the longest trial so far', flush=True)
  return max_minutes


def clock_outcome(oracle, max_minutes: Optional[float]) -> Dict[str, Any]:
  """What search_info.json records about the clock; prints a line if it ended the search."""
  if max_minutes is None:
    return {'max_minutes': None, 'stopped_by_clock': False}
  stopped = bool(getattr(oracle, 'stopped_by_clock', False))
  planned = instrument.planned_trials(oracle)
  not_run = max(planned - len(_completed_ids(oracle)), 0) if stopped and planned else 0
  if stopped:
    print(f'  [Tuner] the clock ended the search ({max_minutes:g} minutes): '
          f'{not_run or "some"} planned trial(s) did not run; a later run with a larger '
          f'{spec.MAX_MINUTES_KEY} resumes the search', flush=True)
  return {'max_minutes': max_minutes, 'stopped_by_clock': stopped,
          'planned_trials_not_run': not_run,
          'search_seconds': round(time.time() - oracle.clock_started, 1),
          'longest_trial_seconds': oracle.expected_trial_seconds()}


def with_budget(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
  """The user's custom_config with the budget parameters (runtime parameters on Kubeflow)
  added under instrument.BUDGET_KEYS, for a tuner_fn that builds its oracle from them."""
  custom_config = json_utils.loads(
      exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or 'null') or {}
  for key in instrument.BUDGET_KEYS:
    value = exec_properties.get(key)
    if value is not None:
      if int(value) < 1:
        raise ValueError(f'{key}: {value}: must be a positive integer')
      custom_config = {**custom_config, key: int(value)}
  return custom_config


def search_key(exec_properties: Dict[str, Any], dataset: str, data_hash: str) -> str:
  """<settings hash>-<data hash>: the same search on the same data gets the same directory;
  the settings part alone finds earlier searches of the same settings (warm start). The
  settings are the tuner_fn (its name and its source file's contents: trials of older code
  are not resumed), its custom_config (parsed, so formatting does not count; without the
  budget parameters, so that a larger budget continues the same search), the train and eval
  steps, and the dataset. Which splits it trains on is data: the data hash has it."""
  custom_config = json_utils.loads(
      exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or 'null') or {}
  settings = {
      'custom_config': {k: v for k, v in custom_config.items()
                        if k not in instrument.BUDGET_KEYS},
      'steps': [_steps(exec_properties.get(key)) for key in (
          standard_component_specs.TRAIN_ARGS_KEY, standard_component_specs.EVAL_ARGS_KEY)],
      'tuner_fn': [exec_properties.get(key) for key in (
          standard_component_specs.TUNER_FN_KEY, standard_component_specs.MODULE_FILE_KEY,
          standard_component_specs.MODULE_PATH_KEY)],
      'tuner_fn_source': tuner_fn_source_hash(exec_properties),
      'dataset': dataset}
  settings_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
  return f'{settings_hash[:10]}-{data_hash[:10]}'


def _steps(args_json: str) -> int:
  """num_steps of a TrainArgs / EvalArgs JSON (0: not set)."""
  return int(json.loads(args_json or '{}').get('num_steps') or 0)


def tuner_fn_source_hash(exec_properties: Dict[str, Any]) -> str:
  fn = udf_utils.get_fn(exec_properties, 'tuner_fn')
  try:
    with open(inspect.getsourcefile(fn), 'rb') as f:
      return hashlib.sha256(f.read()).hexdigest()[:16]
  except (OSError, TypeError):  # no source to read (a compiled module): its name stands in
    return f'{getattr(fn, "__module__", "")}.{getattr(fn, "__qualname__", "")}'


def dataset_signature(fn_args) -> str:
  """A hash of what the tuner's data is made of, whatever rows it holds today: the raw columns
  and types (from the schema, else the transform graph, else the examples themselves), and the
  transformed columns when there is a transform graph (which moves with the label)."""
  parts: Dict[str, Any] = {}
  if fn_args.schema_path:
    parts['columns'] = schema_columns(fn_args.schema_path)
  if fn_args.transform_graph_path:
    import tensorflow_transform as tft  # pylint: disable=import-outside-toplevel
    output = tft.TFTransformOutput(fn_args.transform_graph_path)
    parts.setdefault('columns', _spec_columns(output.raw_feature_spec()))
    parts['transformed'] = _spec_columns(output.transformed_feature_spec())
  if 'columns' not in parts:
    parts['columns'] = example_columns(fn_args.train_files)
  text = json.dumps(parts, sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


def schema_columns(schema_path: str) -> List[List[str]]:
  from tensorflow_metadata.proto.v0 import schema_pb2  # pylint: disable=import-outside-toplevel
  from tfx.utils import io_utils  # pylint: disable=import-outside-toplevel
  schema = io_utils.parse_pbtxt_file(schema_path, schema_pb2.Schema())
  return sorted([f.name, schema_pb2.FeatureType.Name(f.type)] for f in schema.feature)


def _spec_columns(feature_spec: Dict[str, Any]) -> List[List[str]]:
  return sorted([name, feature.dtype.name] for name, feature in feature_spec.items())


def example_columns(patterns: List[str]) -> List[List[str]]:
  """The feature names and kinds of the first tf.Example in the training files (examples
  with neither a schema nor a transform graph beside them)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  files = sorted(path for pattern in patterns for path in fileio.glob(pattern))
  if not files:
    return []
  compression = 'GZIP' if files[0].endswith('.gz') else None
  for record in tf.data.TFRecordDataset(files[:1], compression_type=compression).take(1):
    example = tf.train.Example.FromString(record.numpy())
    return sorted([name, feature.WhichOneof('kind') or '']
                  for name, feature in example.features.feature.items())
  return []


def data_fingerprint(patterns: List[str]) -> str:
  """A hash of the (transformed) training and evaluation files' contents."""
  digest = hashlib.sha256()
  for pattern in patterns:
    for path in sorted(fileio.glob(pattern)):
      digest.update(posixpath.basename(path).encode())
      with fileio.open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
          digest.update(chunk)
  return digest.hexdigest()


def _completed_ids(oracle) -> List[str]:
  return [t.trial_id for t in oracle.completed_trials()]


def completed_trials(oracle) -> List[Any]:
  """Every completed trial, best first (all of them, whatever max_trials says)."""
  return spec.best_first(oracle.completed_trials(), oracle.objective.direction,
                         score=lambda t: t.score, trial_id=lambda t: t.trial_id,
                         val_loss=spec.trial_val_loss)


def select_trial(oracle, trials: List[Any], project_dir: str,
                 exec_properties: Dict[str, Any]) -> selection.Choice:
  """The trial the Trainer gets: the best, or the cheapest nearly as good (selection.py).
  `trials`: the completed trials, best first (completed_trials)."""
  rule = exec_properties.get(spec.SELECT_KEY) or selection.BEST
  tolerance = float(exec_properties.get(spec.SELECT_TOLERANCE_KEY) or 0.0)
  stats = {row['trial_id']: row for row in report.trial_rows(report.load_trials(project_dir))}
  final_epochs = instrument.final_epochs(oracle)
  candidates = [selection.Candidate(
      trial_id=t.trial_id, score=float(t.score),
      final_length=final_epochs is None or t.hyperparameters.values.get(
          'tuner/epochs', final_epochs) >= final_epochs,
      trainable_parameters=stats.get(t.trial_id, {}).get('trainable_parameters'),
      seconds_per_epoch=stats.get(t.trial_id, {}).get('seconds_per_epoch')) for t in trials]
  choice = selection.choose(candidates, oracle.objective.direction, rule, tolerance)
  if rule != selection.BEST:
    print(f'  [Tuner] {rule} {tolerance:g}: {choice.reason}', flush=True)
  return choice


def write_results(trials: List[Any], budget: Dict[str, Any], hp_dir: str, results_dir: str,
                  choice: selection.Choice) -> None:
  """The stock outputs: best_hyperparameters.txt (HyperParameters.get_config() of the best
  trial, or of the chosen one, plus the budget the search ran with and the choice) and
  tuner_results.json (the stock records: trial_id, score and every value, best first, for
  every completed trial). `trials`: the completed trials, best first."""
  chosen = next(t for t in trials if t.trial_id == choice.trial_id)
  spec.write_best_hyperparameters(hp_dir, {
      **chosen.hyperparameters.get_config(),
      # The epoch at which the chosen trial scored best (1-based).
      spec.BUDGET_FIELD: {**budget, spec.BEST_EPOCHS_KEY: int(chosen.best_step or 0) + 1},
      spec.SELECTION_FIELD: choice.record()})
  spec.write_json(spec.join(results_dir, spec.TUNER_RESULTS_FILE), [
      {'trial_id': t.trial_id, 'score': t.score, **t.hyperparameters.values}
      for t in trials if t.hyperparameters.values])


def _copy_trial_files(project_dir: str, target: str) -> None:
  """Trial metadata into the artifact; checkpoints stay in the state directory."""
  for path in fileio.glob(spec.join(project_dir, '*.json')) + fileio.glob(
      spec.join(project_dir, 'trial_*', '*.json')):
    destination = spec.join(target, posixpath.relpath(path, project_dir))
    fileio.makedirs(posixpath.dirname(destination))
    fileio.copy(path, destination, overwrite=True)
