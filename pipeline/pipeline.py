"""create_pipeline(config): the DAG, wiring only.

CsvExampleGen -> StatisticsGen -> SchemaGen | ImportSchemaGen -> ExampleValidator -> SchemaGate
-> Transform -> Tuner -> Trainer -> Evaluator (vs. the last blessed model) -> Pusher.
Runners choose the orchestrator, the metadata store and the paths; they never re-wire.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import tensorflow_model_analysis as tfma
# Not `from tfx import v1`: tfx.v1 imports its Google Cloud extensions, and with them
# google.cloud.aiplatform, several seconds of every run's start-up for nothing the pipeline
# uses (BENCHMARKS.md, "Pipeline overhead").
from tfx import components as tfx_components
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2, transform_pb2

from tfx_hypertune.components import spans, splits
from tfx_hypertune.components import evaluator as evaluator_lib
from tfx_hypertune.components.evaluator import Evaluator
from tfx_hypertune.components.example_gen import SpanWindowCsvExampleGen
from tfx_hypertune.components.tuner import keying, policies
from tfx_hypertune.components.tuner import spec as tuner_spec
from tfx_hypertune import Tuner
from tfx_hypertune.components.validation import SchemaGate
from tfx_hypertune.model import features
from tfx_hypertune.pipeline import config as config_lib
from tfx_hypertune.pipeline.config import REPO_ROOT, Config

# The shares of ExampleGen's split (by row position, components/splits.py): 70% train (fit),
# 15% eval (early stopping and the Tuner's objective), 15% test (held out: only the Evaluator
# sees it). Written as TFX's hash buckets, which our ExampleGen reads as shares.
SPLIT_BUCKETS = {name: round(share * 20) for name, share in splits.DEFAULT_SPLITS}
EVAL_SPLIT = 'test'
CSV_PATTERN = '*.csv'
TUNER_FN = 'tfx_hypertune.model.tuner_fn.tuner_fn'
# The code each component's results depend on, beyond TFX's own. Its hash goes into the
# component's parameters, which TFX fingerprints, so a change re-runs exactly the components
# that run that code (TFX fingerprints a user function's dotted path, not its code:
# tensorflow/tfx#2247). The report is part of the Tuner's code: warm start chooses the
# configurations it carries over with report.trial_rows, so a change there can change what the
# Tuner outputs.
CODE_OF = {
    'model': ('model',),  # Transform, Tuner, Trainer
    'tuner': ('components/tuner',),
    'schema_gate': ('components/validation.py',),
    'example_gen': ('components/example_gen.py', 'components/splits.py',
                    'components/spans.py', 'components/csv_table.py'),
    'evaluator': ('components/evaluator.py', 'components/serving.py',
                  'components/class_balance.py'),
}


def code_version(layer: str = 'model') -> str:
  """The code fingerprint (keying.source_fingerprint) of the source files behind `layer` (a
  CODE_OF key)."""
  paths = []
  for root in CODE_OF[layer]:
    base = REPO_ROOT / root
    paths += sorted([base] if base.is_file() else base.rglob('*.py'))
  return keying.source_fingerprint(paths, REPO_ROOT)


@dataclasses.dataclass(frozen=True)
class RunValues:
  """The values a scheduled run may change. Locally they are plain values; the Kubeflow
  runner passes RuntimeParameters (with these as defaults) so one compiled spec serves every
  run. Everything else, the DAG's shape included, is fixed when the pipeline is built."""
  data_uri: Any
  max_epochs: Any
  max_trials: Any
  max_minutes: Any
  accuracy_threshold: Any
  span_window: Any

  @classmethod
  def of(cls, config: Config) -> 'RunValues':
    # accuracy_threshold: an optional absolute floor; 0.0 stands for "none" (a runtime
    # parameter needs a value).
    return cls(data_uri=config.data.path, max_epochs=config.search.max_epochs,
               max_trials=config.search.max_trials,
               # 0.0 stands for "no clock" (a runtime parameter needs a value).
               max_minutes=float(config.search.max_minutes or 0.0),
               accuracy_threshold=float(config.evaluation.accuracy_threshold or 0.0),
               span_window=config.data.window_size)


# Search settings the Tuner component takes as parameters of its own, not model code's business.
TUNER_PARAMETER_SETTINGS = ('parallel_trials', 'warm_start_trials', 'max_minutes', 'select',
                            'select_tolerance', 'trials_on', 'beam_pipeline_args',
                            'trial_stopping')


def user_function_config(config: Config, version: str) -> Dict[str, Any]:
  """What tuner_fn and run_fn read from fn_args.custom_config."""
  search = {k: v for k, v in dataclasses.asdict(config.search).items()
            if k not in TUNER_PARAMETER_SETTINGS}
  search['space'] = [spec.to_dict() for spec in config.search.space]
  return {
      'label': config.data.label,
      'task': task_of(config),
      'seed': config.seed,
      'search': search,
      'training': dataclasses.asdict(config.training),
      'code_version': version,
  }


def task_of(config: Config) -> str:
  return 'regression' if config.data.is_regression else 'classification'


def create_pipeline(config: Config, *, pipeline_root: Optional[str] = None,
                    serving_dir: Optional[str] = None,
                    metadata_connection_config=None,
                    run_values: Optional[RunValues] = None) -> tfx_pipeline.Pipeline:
  """The pipeline for `config`. Runners pass their paths and metadata store; the Kubeflow
  runner also passes RunValues made of RuntimeParameters.

  Every node is a component with an executor: no Resolver nodes, because open-source KFP
  cannot run them (kubeflow/README.md). What a resolver would ask ML Metadata for, our
  executors find themselves, the same way on every orchestrator: the Evaluator's baseline is
  the newest model of the same data in the push destination, and the retune policy's earlier
  best values are kept by the Tuner under its search state directory."""
  version = code_version('model')
  values = run_values or RunValues.of(config)
  function_config = user_function_config(config, version)
  root = pipeline_root or config.pipeline_root
  # The search key holds the code version: trials of other model or search code never resume.
  tuner_config = {**function_config, 'code_version': f'{version}-{code_version("tuner")}'}

  example_gen = make_example_gen(config, values)
  statistics_gen = tfx_components.StatisticsGen(examples=example_gen.outputs['examples'])
  if config.data.schema_path:
    schema_gen = ImportSchemaGen(schema_file=config.data.schema_path)
  else:
    schema_gen = tfx_components.SchemaGen(
        statistics=statistics_gen.outputs['statistics'], infer_feature_shape=True)
  example_validator = tfx_components.ExampleValidator(
      statistics=statistics_gen.outputs['statistics'], schema=schema_gen.outputs['schema'])
  schema_gate = SchemaGate(
      schema=schema_gen.outputs['schema'], anomalies=example_validator.outputs['anomalies'],
      code_version=code_version('schema_gate'))
  transform = tfx_components.Transform(
      examples=example_gen.outputs['examples'],
      schema=schema_gate.outputs['validated_schema'],
      preprocessing_fn='tfx_hypertune.model.transform.preprocessing_fn',
      splits_config=transform_pb2.SplitsConfig(analyze=['train'], transform=['train', 'eval']),
      # Pre- and post-transform statistics: nothing reads them (StatisticsGen has the raw
      # data's). Skipping them did not measurably shorten Transform on digits (BENCHMARKS.md).
      disable_statistics=True,
      custom_config={'label': config.data.label, 'task': task_of(config),
                     'code_version': version})
  # The Tuner and the Trainer fit on the same transformed data, train and eval splits.
  fit_on = dict(examples=transform.outputs['transformed_examples'],
                transform_graph=transform.outputs['transform_graph'],
                train_args=trainer_pb2.TrainArgs(splits=['train']),
                eval_args=trainer_pb2.EvalArgs(splits=['eval']))
  serving = serving_dir or config.serving_dir
  tuner = Tuner(tuner_fn=TUNER_FN, custom_config=tuner_config,
                max_epochs=values.max_epochs, max_trials=values.max_trials,
                max_minutes=values.max_minutes, select=config.search.select,
                select_tolerance=float(config.search.select_tolerance),
                tuning=config.tuning, hyperparameters_file=config.hyperparameters,
                parallel_trials=config.search.parallel_trials,
                trials_on=config.search.trials_on,
                trial_stopping=config.search.trial_stopping,
                warm_start_trials=config.search.warm_start_trials,
                # Search state outlives executions (resume after a crash, warm start): the
                # Tuner's own default folder, given explicitly, since on Kubeflow an
                # execution's output URI is per run.
                search_state_dir=tuner_spec.default_state_dir(root, 'Tuner'), **fit_on)
  if config.search.trials_on == policies.TRIALS_BEAM:
    tuner.with_beam_pipeline_args(config_lib.tuner_beam_pipeline_args(config.search))
  trainer = tfx_components.Trainer(
      run_fn='tfx_hypertune.model.trainer.run_fn',
      hyperparameters=tuner.outputs['best_hyperparameters'],
      custom_config=function_config, **fit_on)
  evaluator = Evaluator(
      examples=example_gen.outputs['examples'],
      example_splits=[EVAL_SPLIT],
      model=trainer.outputs['model'],
      baseline_dir=serving,  # the last blessed model of the same data is pushed there
      eval_config=eval_config(config),
      accuracy_threshold=values.accuracy_threshold,
      label=config.data.label,
      task=task_of(config),
      rmse_threshold=float(config.evaluation.rmse_threshold or 0.0),
      code_version=code_version('evaluator'))
  pusher = tfx_components.Pusher(
      model=trainer.outputs['model'],
      model_blessing=evaluator.outputs['blessing'],
      push_destination=pusher_pb2.PushDestination(
          filesystem=pusher_pb2.PushDestination.Filesystem(
              base_directory=serving)))

  return tfx_pipeline.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=root,
      components=[example_gen, statistics_gen, schema_gen, example_validator, schema_gate,
                  transform, tuner, trainer, evaluator, pusher],
      enable_cache=True,
      metadata_connection_config=metadata_connection_config,
      beam_pipeline_args=list(config.beam_pipeline_args))


def make_example_gen(config: Config, values: RunValues) -> SpanWindowCsvExampleGen:
  return SpanWindowCsvExampleGen(
      input_base=values.data_uri,
      # Only the CSV files: a curated schema.pbtxt (or a README) may sit beside them. With
      # span folders, TFX's driver resolves {SPAN} to the newest span.
      input_config=example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(
          name='single_split',
          pattern=spans.SPAN_PATTERN if config.data.uses_spans else CSV_PATTERN)]),
      output_config=example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
          example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
          for name, buckets in SPLIT_BUCKETS.items()])),
      span_window=values.span_window, split_seed=config.seed,
      code_version=code_version('example_gen')).with_id('CsvExampleGen')


def eval_config(config: Config) -> tfma.EvalConfig:
  """Accuracy on the held-out split: above the threshold (the Evaluator sets it at run time:
  the majority-class rule or the user's floor), and no worse than the last blessed model by
  more than max_accuracy_drop. Regression: RMSE (and MAE), below the ceiling the Evaluator sets
  (the training-mean rule or the user's), and no more than max_rmse_increase above the last
  blessed model's."""
  if config.data.is_regression:
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            upper_bound={'value': config.evaluation.rmse_threshold or 1e30}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.LOWER_IS_BETTER,
            relative={'value': config.evaluation.max_rmse_increase + 1e-10}))
    return _evaluated_on_test(features.LABEL_VALUE_KEY, 'predicted_value', [
        tfma.MetricConfig(class_name=evaluator_lib.RMSE_METRIC, threshold=threshold),
        tfma.MetricConfig(class_name=evaluator_lib.MAE_METRIC)])
  threshold = tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(
          lower_bound={'value': config.evaluation.accuracy_threshold or 0.0}),
      change_threshold=tfma.GenericChangeThreshold(
          direction=tfma.MetricDirection.HIGHER_IS_BETTER,
          absolute={'value': -config.evaluation.max_accuracy_drop - 1e-10}))
  return _evaluated_on_test(features.LABEL_KEY, 'probabilities', [
      tfma.MetricConfig(class_name=evaluator_lib.ACCURACY_METRIC, threshold=threshold)])


def _evaluated_on_test(label_key: str, prediction_key: str,
                       metrics: List[tfma.MetricConfig]) -> tfma.EvalConfig:
  """The serving signature with the transform graph in front, one overall slice, `metrics`
  and the example count."""
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(
          signature_name='serving_default',
          preprocessing_function_names=['transform_features'],
          label_key=label_key, prediction_key=prediction_key)],
      slicing_specs=[tfma.SlicingSpec()],
      metrics_specs=[tfma.MetricsSpec(metrics=[
          *metrics, tfma.MetricConfig(class_name=evaluator_lib.EXAMPLE_COUNT_METRIC)])])
