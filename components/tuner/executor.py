"""Tuner executor: the stock Tuner's contract (any tuner_fn, any Keras Tuner tuner, the stock
outputs), with a search that resumes, warm-starts, runs trials in parallel and explains itself.

Unlike the stock executor (tfx/components/tuner/executor.py) it
- keeps the search state in a persistent directory keyed by the search settings and a
  fingerprint of the training data (keying.py), so a search killed half-way resumes from its
  finished trials when the pipeline runs again (the stock one searches in a temporary one);
- can try the best configurations of the previous search first (warm_start.py);
- runs `tune_args.num_parallel_trials` (or `parallel_trials`) trials at a time: Keras Tuner
  workers against one chief oracle over gRPC on loopback (local_pool.py; the stock one
  refuses tune_args), or with `trials_on='beam'` trials on the Tuner's Beam runner, the oracle
  staying here (beam_trials.py);
- never calls `oracle.get_best_trials(oracle.max_trials)`, which crashes for Hyperband because
  Hyperband leaves max_trials unset (tensorflow/tfx#7778);
- says a line per trial and writes a trial report (table, plots, TensorBoard HParams) into
  the tuner_results artifact.
It knows nothing of any model or custom_config layout: the tuner_fn builds the tuner, and the
dataset is known by what the pipeline gives any Tuner (the schema, the transform graph, or the
examples' own features). Its parameters are spec.py's, its files files.py's.
"""
from __future__ import annotations

import dataclasses
import posixpath
import time
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.components.trainer import fn_args_utils
from tfx.components.tuner import executor as stock_executor
from tfx.dsl.components.base import base_beam_executor, base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import json_utils

from tfx_hypertune.components import filesystems, tfx_private
# First, so that tf.keras is Keras 3 here too, whatever imports tf.Transform later (keras3.py).
from tfx_hypertune.components.tuner import keras3  # noqa: F401
from tfx_hypertune.components.tuner import (beam_trials, files, keying, local_pool, outcome,
                                            plan, policies, progress, report, search_info,
                                            spec, tuner_mixin, tuning, warm_pool, warm_start)

TrialsFailedError = outcome.TrialsFailedError


class Executor(base_beam_executor.BaseBeamExecutor):
  """Drop-in for tfx.components.tuner.executor.Executor (see the module docstring).

  A Beam executor, so that every TFX orchestrator hands it the Beam arguments (the pipeline's
  beam_pipeline_args and the Tuner's own with_beam_pipeline_args) for trials on Beam: the
  Kubeflow and Vertex entrypoints pass them only to a BaseBeamExecutor."""

  def __init__(self, context: Optional[base_executor.BaseExecutor.Context] = None):
    tfx_private.init_beam_executor_without_packaging(self, context)
    self._beam_pipeline_args = list(getattr(context, 'beam_pipeline_args', None) or [])

  def beam_pipeline_args(self) -> List[str]:
    """The Tuner's Beam arguments (without them, Beam's default DirectRunner)."""
    return list(self._beam_pipeline_args)

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    """Inputs and outputs are the stock Tuner's; exec_properties the stock ones and ours
    (spec.TunerSpec), checked first."""
    spec.check_parameters(exec_properties)
    results_dir = artifact_utils.get_single_uri(
        output_dict[standard_component_specs.TUNER_RESULTS_KEY])
    state_root = (exec_properties.get(spec.SEARCH_STATE_DIR_KEY)
                  or spec.state_dir_beside(results_dir))
    filesystems.support(results_dir, state_root)
    hp_artifact = artifact_utils.get_single_instance(
        output_dict[standard_component_specs.BEST_HYPERPARAMETERS_KEY])
    # The budget parameters go to tuner_fn beside the user's own custom_config (the parallel
    # workers read the same exec_properties).
    exec_properties = {**exec_properties, standard_component_specs.CUSTOM_CONFIG_KEY:
                       json_utils.dumps(with_budget(exec_properties))}
    fn_args = fn_args_utils.get_common_fn_args(input_dict, exec_properties, working_dir=None)
    data_hash = keying.data_fingerprint(fn_args.train_files + fn_args.eval_files)
    # Nothing is reused across datasets: search state, warm start and earlier best values
    # must come from data of the same columns and types.
    dataset = keying.dataset_signature(fn_args)
    hp_artifact.set_string_custom_property(spec.DATASET_PROPERTY, dataset)
    policy = exec_properties.get(spec.TUNING_POLICY_KEY) or policies.ALWAYS
    reuse = tuning.decide(policy, exec_properties.get(spec.HYPERPARAMETERS_FILE_KEY) or None,
                          state_root, dataset, data_hash)
    progress.say(f'  [Tuner] tuning {policy}: {reuse.reason}')
    if reuse.source_file is not None:
      info = tuning.reuse(reuse, hp_artifact)
    else:
      context = SearchContext(
          fn_args=fn_args, exec_properties=exec_properties, input_dict=input_dict,
          key=keying.search_key(exec_properties, dataset, data_hash), state_root=state_root,
          results_dir=results_dir, hp_dir=hp_artifact.uri,
          requested=requested_workers(exec_properties), beam_args=self.beam_pipeline_args())
      info = run_search(context)
      tuning.mark_searched(info, hp_artifact, data_hash, results_dir, reuse.reason)
      info.remembered_as_latest = tuning.remember(state_root, dataset, hp_artifact.uri,
                                                  data_hash, results_dir)
    search_info.write(results_dir, info)


@dataclasses.dataclass
class SearchContext:
  """One execution's search: what it searches with, and where its state and outputs go."""
  fn_args: Any                          # tuner_fn's FnArgs (working_dir set here)
  exec_properties: Dict[str, Any]       # with the budget in custom_config (with_budget)
  input_dict: Dict[str, List[types.Artifact]]
  key: str                              # <settings hash>-<data hash> (keying.search_key)
  state_root: str                       # search_state_dir
  results_dir: str                      # the tuner_results artifact
  hp_dir: str                           # the best_hyperparameters artifact
  requested: int                        # parallel trials asked for
  beam_args: List[str]                  # the Tuner's Beam arguments

  @property
  def working_dir(self) -> str:
    return files.join(self.state_root, self.key)

  @property
  def trials_on(self) -> str:
    return spec.trials_location(self.exec_properties)

  @property
  def tuner_fn(self) -> Optional[str]:
    return self.exec_properties.get(standard_component_specs.TUNER_FN_KEY)


def run_search(context: SearchContext) -> search_info.SearchInfo:
  """Runs (or resumes) the search; writes the best hyperparameters and the report. Returns
  what search_info.json records about it."""
  workers = trial_slots(context)
  if workers > 1 and context.trials_on == policies.TRIALS_LOCAL:
    # The workers' imports overlap with tuner_fn reading the data (a no-op if `hypertune
    # run` started the pool already).
    warm_pool.prewarm(context.tuner_fn)
  context.fn_args.working_dir = context.working_dir
  set_aside = set_aside_unreadable_state(context.working_dir)
  resumed = files.has_search_under(context.working_dir)
  tuner, fit_kwargs = tuner_mixin.build_tuner(context.exec_properties, context.fn_args)
  oracle = tuner.oracle
  max_minutes = outcome.start_clock(oracle, spec.max_minutes(context.exec_properties))
  finished_before = [t.trial_id for t in oracle.completed_trials()]
  resuming = f' (resuming: {len(finished_before)} trials already finished)' if resumed else ''
  progress.say(f'  [Tuner] search state: {context.working_dir}{resuming}')
  carried_over: List[Dict[str, Any]] = []
  warm_start_trials = spec.warm_start_count(context.exec_properties)
  if not resumed and warm_start_trials:
    carried_over = warm_start.enqueue_previous_best(oracle, context.state_root, context.key,
                                                    warm_start_trials)
  failures, beam = run_trials(context, tuner, fit_kwargs, workers)
  clock = outcome.clock_outcome(oracle, max_minutes)
  completed = outcome.completed_trials(oracle)
  if not completed:
    raise TrialsFailedError(f'Tuner: no trial completed: {outcome.failure_summary(tuner)}')
  choice = outcome.select_trial(oracle, completed, tuner.project_dir,
                                context.exec_properties.get(spec.SELECT_KEY),
                                float(context.exec_properties.get(spec.SELECT_TOLERANCE_KEY)
                                      or 0.0))
  outcome.write_results(completed, plan.budget_of(oracle, fit_kwargs), context.hp_dir,
                        context.results_dir, choice)
  outcome.copy_trial_files(tuner.project_dir, files.search_dir_of(context.results_dir))
  html_path = report.write_report(tuner.project_dir, context.results_dir, carried_over,
                                  objective=oracle.objective.name,
                                  direction=oracle.objective.direction,
                                  chosen=choice.record())
  progress.say(f'  [Tuner] report: {html_path}')
  return search_info.SearchInfo(
      search_state_dir=context.working_dir, tuner_project_dir=tuner.project_dir,
      resumed=resumed, trials_finished_before_this_run=sorted(finished_before),
      trials_completed=len(completed), objective=oracle.objective.name,
      direction=oracle.objective.direction, carried_over=carried_over,
      parallel_trials=workers, parallel_trials_requested=context.requested,
      worker_failures=failures, trials_on=context.trials_on, beam=beam,
      failed_trials=outcome.failed_trials(oracle, tuner.project_dir), **clock,
      trial_stopping=spec.trial_stopping(context.exec_properties),
      stopped_early=dict(oracle.extras.stopped_early),
      epochs_trained=outcome.epochs_trained(tuner.project_dir),
      selection=choice.record(), unreadable_state_set_aside=set_aside, report=html_path)


def trial_slots(context: SearchContext) -> int:
  """How many trials run at a time: on Beam, the number asked for (the runner's workers, not
  this machine's cores, run them); locally, no more than the cores this container may use."""
  if context.trials_on == policies.TRIALS_BEAM:
    return context.requested
  workers = local_pool.worker_count(context.requested)
  if workers < context.requested:
    progress.say(f'  [Tuner] parallel trials {context.requested}: {workers} worker(s), as '
                 f'many as the cores this container may use')
  return workers


def run_trials(context: SearchContext, tuner, fit_kwargs: Dict[str, Any],
               workers: int) -> tuple:
  """Runs the search's trials where they are to run; returns (local worker failures, what
  trials on Beam record). Keras Tuner stops a search after max_consecutive_failed_trials
  failures in a row, with the last one's traceback in its error's message: said in one line."""
  try:
    if context.trials_on == policies.TRIALS_BEAM:
      return [], beam_trials.search(tuner, workers, context.input_dict,
                                    context.exec_properties, context.working_dir,
                                    context.beam_args)
    if workers > 1:
      return local_pool.search(tuner, workers, context.input_dict, context.exec_properties,
                               context.working_dir), None
    tuner.search(**fit_kwargs)
    return [], None
  except RuntimeError as e:
    if 'consecutive failures' not in str(e):
      raise
    raise TrialsFailedError(f'Tuner: {tuner.oracle.max_consecutive_failed_trials} trials in '
                            f'a row failed, and Keras Tuner stops a search then: '
                            f'{outcome.failure_summary(tuner)}') from None


def set_aside_unreadable_state(working_dir: str) -> List[str]:
  """Keras Tuner cannot reload a project whose state files are cut short (a kill mid-write
  before they were written atomically, a full disk): every later run would fail the same
  way. Such a project is renamed aside, kept for inspection, and the search starts afresh.
  Returns the folders set aside."""
  moved = []
  for oracle_file in fileio.glob(files.join(working_dir, '*', files.ORACLE_FILE)):
    project = posixpath.dirname(oracle_file)
    broken = files.unreadable_json(files.project_state_files(project))
    if broken is None:
      continue
    # One level deeper, so that nothing looking for a project (*/oracle.json) finds it.
    aside = files.join(working_dir, f'unreadable-{time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}',
                       posixpath.basename(project))
    fileio.makedirs(posixpath.dirname(aside))
    fileio.rename(project, aside)
    progress.say(f'  [Tuner] search state {broken[0]} is unreadable ({broken[1][:120]}): set '
                 f'aside as {aside}; searching afresh')
    moved.append(aside)
  return moved


def requested_workers(exec_properties: Dict[str, Any]) -> int:
  """Parallel trials asked for: the stock tune_args.num_parallel_trials or our
  parallel_trials (both given, they must agree)."""
  tune_args = stock_executor.get_tune_args(exec_properties)
  return spec.requested_workers(exec_properties,
                                tune_args.num_parallel_trials if tune_args else 0)


def with_budget(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
  """The user's custom_config with the budget parameters (runtime parameters on Kubeflow)
  added under plan.BUDGET_KEYS, for a tuner_fn that builds its oracle from them."""
  custom_config = json_utils.loads(
      exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or 'null') or {}
  for key in plan.BUDGET_KEYS:
    value = exec_properties.get(key)
    if value is not None:
      if int(value) < 1:
        raise ValueError(f'{key}: {value}: must be a positive integer')
      custom_config = {**custom_config, key: int(value)}
  return custom_config
