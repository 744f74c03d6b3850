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
  """tfx.components.Tuner with a search that resumes, warm-starts, runs trials in parallel
  (on this machine or on a Beam runner), never crashes with Hyperband, and explains its trials.

  Takes the stock arguments with the stock defaults and gives the stock outputs
  (`best_hyperparameters`: HyperParameters.get_config() of the best trial in
  best_hyperparameters.txt; `tuner_results`: tuner_results.json in the stock format), so any
  tuner_fn that returns a TunerFnResult, and any Trainer that reads those outputs, work as they
  are. Results are read from the completed trials, never through
  `get_best_trials(oracle.max_trials)`, which crashes with Hyperband (tensorflow/tfx#7778). The
  Tuner logs a line per trial (absl, INFO) and writes a report into `tuner_results`:
  trials.csv, report.html with plots and findings, TensorBoard HParams logs, search_info.json
  and a copy of the trial files. Values fixed when the pipeline is built are checked then, in
  one line naming the argument (a ValueError, as for a missing module).

  Args:
    examples: A Channel of 'Examples' to search on (the stock argument).
    schema: An optional Channel of 'Schema' (the stock argument).
    transform_graph: An optional Channel of 'TransformGraph' (the stock argument).
    base_model: An optional Channel of 'Model' to warm-start from (the stock argument).
    module_file: A path to a module that defines `tuner_fn`; exactly one of module_file and
      tuner_fn (the stock argument).
    tuner_fn: The dotted path of a tuner_fn (the stock argument).
    train_args: trainer_pb2.TrainArgs (the stock argument).
    eval_args: trainer_pb2.EvalArgs (the stock argument).
    tune_args: tuner_pb2.TuneArgs; `num_parallel_trials` N runs N trials at a time (the stock
      executor refuses it); the same as parallel_trials, give one of them.
    custom_config: A dict handed to tuner_fn as fn_args.custom_config (the stock argument),
      with max_epochs and max_trials added when given.
    search_state_dir: Where search state outlives executions (resume, warm start, reuse):
      one folder per search settings and data, fn_args.working_dir of tuner_fn. Default:
      `<pipeline_root>/<node id>/TunerState`, derived from the output URI; on Kubeflow, where
      an output URI is per run, give the pipeline root's bucket.
    parallel_trials: Trials at a time (default 1): Keras Tuner workers forked from a warm pool
      against one chief oracle over gRPC on 127.0.0.1, capped by the cores the container may
      use; with trials_on='beam', the trials that run at once on the Beam runner.
    warm_start_trials: A search on new data first tries this many best configurations of the
      previous search of the same settings, within its own budget (default 3; 0: off).
    tuning: 'always' (default) searches; 'never' reuses the latest best values of a search on
      this dataset (the first run searches); 'if-data-changed' reuses them while the training
      data is unchanged.
    hyperparameters_file: A best_hyperparameters.txt to reuse instead of searching whenever
      `tuning` would reuse.
    max_epochs: The epochs a trial trains (may be a RuntimeParameter): fit's `epochs`, and
      fn_args.custom_config['max_epochs'] for a tuner_fn that builds Hyperband from it.
    max_trials: The oracle's max_trials (may be a RuntimeParameter), and
      fn_args.custom_config['max_trials'].
    max_minutes: A clock for the search (may be a RuntimeParameter; 0 or None: none): no trial
      starts that would end after it if it took as long as the longest trial so far; running
      trials finish. Not part of what makes two searches the same: more minutes resume.
    select: 'best' (default), or 'smallest_within' / 'fastest_within': the Trainer gets the
      trial with the fewest trainable parameters (or seconds per epoch) whose objective is
      within select_tolerance of the best, among trials trained to the final epoch count.
    select_tolerance: How far from the best objective, in the objective's units (default 0).
    trials_on: 'local' (default: this process, or parallel_trials local workers) or 'beam':
      the trials run on the Tuner's Beam runner (the pipeline's beam_pipeline_args, then its
      own with_beam_pipeline_args), the oracle staying in the executor; the search state dir
      must be where every worker reaches it (the pipeline root's bucket).
    trial_stopping: 'none' (default) or 'median': a trial whose best objective so far is worse
      than the median of the other trials' at the same epoch stops there (after two epochs,
      among three trials or more), for any tuner, locally, with parallel workers and on Beam.

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
               trials_on: Optional[str] = None,
               trial_stopping: Optional[str] = None):
    if bool(module_file) == bool(tuner_fn):
      raise ValueError("Exactly one of 'module_file' or 'tuner_fn' must be supplied")
    spec.check_parameters({
        spec.PARALLEL_TRIALS_KEY: parallel_trials, spec.WARM_START_TRIALS_KEY: warm_start_trials,
        spec.TUNING_POLICY_KEY: tuning, spec.MAX_EPOCHS_KEY: max_epochs,
        spec.MAX_TRIALS_KEY: max_trials, spec.MAX_MINUTES_KEY: max_minutes,
        spec.SELECT_KEY: select, spec.SELECT_TOLERANCE_KEY: select_tolerance,
        spec.TRIALS_ON_KEY: trials_on, spec.TRIAL_STOPPING_KEY: trial_stopping})
    if tune_args is not None and parallel_trials is not None:
      spec.requested_workers({spec.PARALLEL_TRIALS_KEY: parallel_trials},
                             tune_args.num_parallel_trials)
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
        select_tolerance=select_tolerance, trials_on=trials_on, trial_stopping=trial_stopping,
        best_hyperparameters=types.Channel(type=standard_artifacts.HyperParameters),
        tuner_results=types.Channel(type=standard_artifacts.TunerResults))
    super().__init__(spec=component_spec)
    if udf_utils.should_package_user_modules():
      # As the stock Tuner: the module file is packaged and passed as module_path.
      udf_utils.add_user_module_dependency(
          self, standard_component_specs.MODULE_FILE_KEY,
          standard_component_specs.MODULE_PATH_KEY)
