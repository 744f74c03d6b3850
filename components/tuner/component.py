"""The Tuner component: a drop-in for tfx.components.Tuner (`from tfx_hypertune import Tuner`)."""

from typing import Any, Dict, Optional

from tfx import types
from tfx.components.tuner import component as stock_tuner
from tfx.components.util import udf_utils
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.proto import trainer_pb2, tuner_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import executor, spec

TunerFnResult = stock_tuner.TunerFnResult


class Tuner(base_beam_component.BaseBeamComponent):
  """tfx.components.Tuner with a search that resumes, warm-starts, runs trials in parallel,
  never crashes with Hyperband, and explains its trials.

  Takes the stock arguments with the stock defaults (`examples`; optional `schema`,
  `transform_graph`, `base_model`; exactly one of `module_file` or `tuner_fn`; `train_args`,
  `eval_args`, `tune_args`, `custom_config`) and gives the stock outputs
  (`best_hyperparameters`: HyperParameters.get_config() of the best trial in
  best_hyperparameters.txt; `tuner_results`: tuner_results.json in the stock format), so any
  tuner_fn that returns a TunerFnResult, and any Trainer that reads those outputs, work as
  they are. What it adds, each switched by the arguments after `custom_config` (all optional):

  - Resume. The search state lives in `search_state_dir` (default: `TunerState` beside the
    component's outputs, `<pipeline_root>/<node id>/TunerState`), one folder per search
    settings and data; `fn_args.working_dir` is that folder. A run killed mid-search resumes
    from its finished trials (Keras Tuner reloads its oracle) when the pipeline runs again.
  - Parallel trials. `tune_args=TuneArgs(num_parallel_trials=N)` (or `parallel_trials=N`) runs
    N Keras Tuner workers, forked from a warm pool, against one chief oracle over gRPC on
    127.0.0.1; capped by the cores the container may use. A dead worker's trial ends FAILED.
  - No Hyperband crash (tensorflow/tfx#7778): results are read from the completed trials,
    never through `get_best_trials(oracle.max_trials)`.
  - Warm start. A search on new data first tries the `warm_start_trials` (default 3; 0: off)
    best configurations of the previous search of the same settings, within its own budget.
  - Retune policy. `tuning='always' | 'never' | 'if-data-changed'`; `hyperparameters_file`:
    reuse a best_hyperparameters.txt instead of searching.
  - Budget. `max_epochs`, `max_trials` (may be RuntimeParameters): set as the oracle's
    `max_trials` and the search's `epochs`, and passed to tuner_fn in
    `fn_args.custom_config['max_epochs' | 'max_trials']` (Hyperband's max_epochs must be given
    to its constructor).
  - A choice. `select='smallest_within' | 'fastest_within'` with `select_tolerance=T` gives
    the Trainer the trial with the fewest trainable parameters (or seconds per epoch) whose
    objective is within T of the best, among trials trained to the final epoch count
    (selection.py); best_hyperparameters.txt and search_info.json say which and why.
  - A clock. `max_minutes` (may be a RuntimeParameter; 0 or None: none): no trial starts that
    would end after it if it took as long as the longest trial so far; running trials finish
    and the search ends with what completed (search_info.json says so). It is not part of what
    makes two searches the same, so a later run with more minutes resumes the search.
  - Trials on Beam. `trials_on='beam'` runs the trials as Beam pipelines, `parallel_trials`
    at a time, on the Tuner's Beam runner (the pipeline's `beam_pipeline_args`, and the
    Tuner's own `with_beam_pipeline_args`): one search across a Dataflow, Flink or Spark
    cluster, the oracle staying in this executor (beam_trials.py). The search directory must
    be where every worker reaches it (the pipeline root's bucket).
  - Report. A progress line per trial, and in `tuner_results`: trials.csv, report.html with
    plots (objective by trial, against trainable parameters, against each hyperparameter),
    TensorBoard HParams logs, search_info.json (resumed? carried over? worker failures) and a
    copy of the trial files.

  The executor class is `Tuner.EXECUTOR_SPEC.executor_class` (tfx_hypertune.components.tuner.
  executor.Executor).
  """

  SPEC_CLASS = spec.TunerSpec
  # A Beam component's spec, so that the pipeline's beam_pipeline_args (and the Tuner's own,
  # `with_beam_pipeline_args`) reach the executor for trials on Beam, as they reach Transform's.
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

  def __init__(self,
               examples: types.BaseChannel,
               schema: Optional[types.BaseChannel] = None,
               transform_graph: Optional[types.BaseChannel] = None,
               base_model: Optional[types.BaseChannel] = None,
               module_file: Optional[str] = None,
               tuner_fn: Optional[str] = None,
               train_args: Optional[trainer_pb2.TrainArgs] = None,
               eval_args: Optional[trainer_pb2.EvalArgs] = None,
               tune_args: Optional[tuner_pb2.TuneArgs] = None,
               custom_config: Optional[Dict[str, Any]] = None,
               *,
               search_state_dir: Optional[str] = None,
               parallel_trials: Optional[int] = None,
               warm_start_trials: Optional[int] = None,
               tuning: Optional[str] = None,
               hyperparameters_file: Optional[str] = None,
               max_epochs: Optional[Any] = None,
               max_trials: Optional[Any] = None,
               max_minutes: Optional[Any] = None,
               select: Optional[str] = None,
               select_tolerance: Optional[float] = None,
               trials_on: Optional[str] = None):
    if bool(module_file) == bool(tuner_fn):
      raise ValueError("Exactly one of 'module_file' or 'tuner_fn' must be supplied")
    component_spec = spec.TunerSpec(
        examples=examples, schema=schema, transform_graph=transform_graph,
        base_model=base_model, module_file=module_file, tuner_fn=tuner_fn,
        train_args=train_args or trainer_pb2.TrainArgs(),
        eval_args=eval_args or trainer_pb2.EvalArgs(),
        tune_args=tune_args, custom_config=json_utils.dumps(custom_config),
        search_state_dir=search_state_dir, parallel_trials=parallel_trials,
        warm_start_trials=warm_start_trials, tuning=tuning,
        hyperparameters_file=hyperparameters_file, max_epochs=max_epochs,
        max_trials=max_trials, max_minutes=max_minutes, select=select,
        select_tolerance=select_tolerance, trials_on=trials_on,
        best_hyperparameters=types.Channel(type=standard_artifacts.HyperParameters),
        tuner_results=types.Channel(type=standard_artifacts.TunerResults))
    super().__init__(spec=component_spec)
    if udf_utils.should_package_user_modules():
      # As the stock Tuner: the module file is packaged and passed as module_path.
      udf_utils.add_user_module_dependency(
          self, standard_component_specs.MODULE_FILE_KEY,
          standard_component_specs.MODULE_PATH_KEY)
