"""Tuner executor: a resumable, warm-startable, optionally parallel Keras Tuner search.

Unlike the stock executor (tfx/components/tuner/executor.py) it
- keeps the search state in a persistent directory keyed by the search settings and a
  fingerprint of the training data, so a search killed half-way resumes from its finished
  trials when the pipeline runs again (the stock one searches in a temporary directory);
- can try the best configurations of the previous search first (warm start);
- runs `parallel_trials` Keras Tuner workers against one chief oracle over gRPC on loopback;
- never calls `oracle.get_best_trials(oracle.max_trials)`, which crashes for Hyperband because
  Hyperband leaves max_trials unset (tensorflow/tfx#7778);
- writes a trial report (table, plots, TensorBoard HParams) into the tuner_results artifact.
Its parameters, inputs, outputs and files are defined in spec.py.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.components.trainer import fn_args_utils
from tfx.components.tuner import executor as stock_executor
from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import json_utils

from tfx_hypertune.components import filesystems
from tfx_hypertune.components.tuner import parallel, report, search as search_api, spec, tuning, warm_start


class Executor(base_executor.BaseExecutor):

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    if stock_executor.get_tune_args(exec_properties):
      raise ValueError('tune_args: not supported; set search.parallel_trials in the config')
    results_dir = artifact_utils.get_single_uri(
        output_dict[standard_component_specs.TUNER_RESULTS_KEY])
    filesystems.support(results_dir, exec_properties.get(spec.SEARCH_STATE_DIR_KEY))
    hp_artifact = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.BEST_HYPERPARAMETERS_KEY])
    custom_config = with_budget(json_utils.loads(
        exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or 'null') or {},
        exec_properties)
    fn_args = fn_args_utils.get_common_fn_args(input_dict, exec_properties, working_dir=None)
    data_hash = data_fingerprint(fn_args.train_files + fn_args.eval_files)
    # Nothing is reused across datasets: search state, warm start and earlier best values
    # must come from data of the same columns, types and label.
    custom_config['dataset'] = dataset_signature(fn_args.transform_graph_path,
                                                 custom_config.get('label'))
    hp_artifact.set_string_custom_property(spec.DATASET_PROPERTY, custom_config['dataset'])
    policy = exec_properties.get(spec.TUNING_POLICY_KEY) or 'always'
    state_root = (exec_properties.get(spec.SEARCH_STATE_DIR_KEY)
                  or spec.join(results_dir, 'state'))
    dataset = custom_config['dataset']
    reuse = tuning.decide(policy, exec_properties.get(spec.HYPERPARAMETERS_FILE_KEY) or None,
                          state_root, dataset, data_hash)
    print(f'  [Tuner] tuning {policy}: {reuse.reason}', flush=True)
    if reuse.source_file is not None:
      info = tuning.reuse(reuse, hp_artifact)
    else:
      info = self._search(custom_config, fn_args, data_hash, exec_properties, input_dict,
                          hp_artifact.uri, results_dir, state_root)
      info.update(tuning.mark_searched(hp_artifact, info['trials_completed'], data_hash,
                                       results_dir, reuse.reason))
      info['remembered_as_latest'] = tuning.remember(state_root, dataset, hp_artifact.uri,
                                                     data_hash, results_dir)
    spec.write_json(spec.join(results_dir, spec.SEARCH_INFO_FILE), info)

  def _search(self, custom_config: Dict[str, Any], fn_args, data_hash: str,
              exec_properties: Dict[str, Any], input_dict: Dict[str, List[types.Artifact]],
              hp_dir: str, results_dir: str, state_root: str) -> Dict[str, Any]:
    """Runs (or resumes) the search; writes the best hyperparameters and the report.
    Returns what search_info.json records about it."""
    search = custom_config['search']
    requested = spec.optional_int(exec_properties.get(spec.PARALLEL_TRIALS_KEY)) or 1
    workers = parallel.worker_count(requested)
    if workers > 1:
      # The workers' imports overlap with tuner_fn reading the data (a no-op if `hypertune
      # run` started the pool already).
      parallel.prewarm(exec_properties.get('tuner_fn'))
    key = search_key(custom_config, data_hash)
    working_dir = fn_args.working_dir = spec.join(state_root, key)
    project_dir = spec.join(working_dir, spec.TRIALS_PROJECT)
    resumed = spec.has_search(project_dir)
    exec_properties = {**exec_properties, standard_component_specs.CUSTOM_CONFIG_KEY:
                       json_utils.dumps(custom_config)}
    tuner_fn = udf_utils.get_fn(exec_properties, 'tuner_fn')
    fn_args.custom_config = custom_config
    result = tuner_fn(fn_args)
    tuner = result.tuner
    finished_before = _completed_ids(tuner.oracle)
    print(f'  [Tuner] search state: {working_dir}'
          f'{f" (resuming: {len(finished_before)} trials already finished)" if resumed else ""}',
          flush=True)
    carried_over: List[Dict[str, Any]] = []
    warm_start_trials = spec.optional_int(exec_properties.get(spec.WARM_START_TRIALS_KEY)) or 0
    if not resumed and warm_start_trials:
      carried_over = warm_start.enqueue_previous_best(
          tuner.oracle, state_root, key, warm_start_trials)
    if workers < requested:
      print(f'  [Tuner] parallel_trials {requested}: {workers} worker(s), as many as the '
            f'cores this container may use', flush=True)
    failures: List[str] = []
    if workers > 1:
      failures = parallel.search(tuner, workers, input_dict, exec_properties, working_dir)
    else:
      tuner.search(**result.fit_kwargs)
    write_results(tuner.oracle, search, hp_dir, results_dir)
    _copy_trial_files(project_dir, spec.search_dir_of(results_dir))
    html_path = report.write_report(project_dir, results_dir, carried_over,
                                    objective=search['objective'])
    print(f'  [Tuner] report: {html_path}', flush=True)
    return {
        'search_state_dir': working_dir,
        'resumed': resumed,
        'trials_finished_before_this_run': sorted(finished_before),
        'trials_completed': len(_completed_ids(tuner.oracle)),
        'objective': search['objective'],
        'direction': tuner.oracle.objective.direction,
        'carried_over': carried_over,
        'parallel_trials': workers,
        'parallel_trials_requested': requested,
        'worker_failures': failures,
        'report': html_path,
    }


def with_budget(custom_config: Dict[str, Any], exec_properties: Dict[str, Any]) -> Dict[str, Any]:
  """custom_config with the budget parameters (runtime parameters on Kubeflow) applied."""
  search = dict(custom_config.get('search', {}))
  for key in (spec.MAX_EPOCHS_KEY, spec.MAX_TRIALS_KEY):
    value = exec_properties.get(key)
    if value is not None:
      if int(value) < 1:
        raise ValueError(f'{key}: {value}: must be a positive integer')
      search[key] = int(value)
  return {**custom_config, 'search': search}


def search_key(custom_config: Dict[str, Any], data_hash: str) -> str:
  """<settings hash>-<data hash>: the same search on the same data gets the same directory;
  the settings part alone finds earlier searches of the same space (warm start)."""
  # The code version is part of the settings: trials of an older model code are not resumed.
  settings = {'label': custom_config.get('label'),
              'dataset': custom_config.get('dataset'),
              'code': custom_config.get('code_version'),
              'search': custom_config.get('search', {}),
              'seed': custom_config.get('seed')}
  settings_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
  return f'{settings_hash[:10]}-{data_hash[:10]}'


def dataset_signature(transform_graph_uri: str, label: Optional[str]) -> str:
  """A hash of the raw columns (names and types) and the label: which dataset this is,
  whatever rows it holds today."""
  import tensorflow_transform as tft  # pylint: disable=import-outside-toplevel
  raw = tft.TFTransformOutput(transform_graph_uri).raw_feature_spec()
  columns = sorted((name, feature.dtype.name) for name, feature in raw.items())
  text = json.dumps({'columns': columns, 'label': label}, sort_keys=True)
  return hashlib.sha256(text.encode()).hexdigest()[:12]


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
  return [t.trial_id for t in oracle.trials.values() if t.status == 'COMPLETED']


def completed_trials(oracle) -> List[Any]:
  """Every completed trial, best first (all of them, whatever max_trials says)."""
  done = [t for t in oracle.trials.values() if t.status == 'COMPLETED']
  return spec.best_first(done, oracle.objective.direction, score=lambda t: t.score,
                         trial_id=lambda t: t.trial_id)


def write_results(oracle, search: Dict[str, Any], hp_dir: str, results_dir: str) -> None:
  trials = completed_trials(oracle)
  if not trials:
    raise RuntimeError('Tuner: no trial completed; see the trial errors above')
  spec.write_best_hyperparameters(hp_dir, {
      **trials[0].hyperparameters.get_config(),
      spec.BUDGET_FIELD: {spec.MAX_EPOCHS_KEY: search['max_epochs'],
                          spec.MAX_TRIALS_KEY: search['max_trials'],
                          # The epoch at which the best trial scored best (1-based).
                          spec.BEST_EPOCHS_KEY: int(trials[0].best_step or 0) + 1}})
  spec.write_json(spec.join(results_dir, spec.TUNER_RESULTS_FILE), [
      {'trial_id': t.trial_id, 'score': t.score,
       **search_api.active_values(t.hyperparameters)} for t in trials])


def _copy_trial_files(project_dir: str, target: str) -> None:
  """Trial metadata into the artifact; checkpoints stay in the state directory."""
  for path in fileio.glob(spec.join(project_dir, '*.json')) + fileio.glob(
      spec.join(project_dir, 'trial_*', '*.json')):
    destination = spec.join(target, posixpath.relpath(path, project_dir))
    fileio.makedirs(posixpath.dirname(destination))
    fileio.copy(path, destination, overwrite=True)
