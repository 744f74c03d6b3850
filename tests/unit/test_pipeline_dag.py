"""The DAG create_pipeline builds: components, edges, and what the config decides."""

import json
import os

import pytest

from tfx_hypertune.pipeline import config as config_lib
from tfx_hypertune.pipeline.pipeline import code_version, create_pipeline, user_function_config
from tests.conftest import DIGITS_DIR


def _upstream(pipeline):
  return {node.id: sorted(n.id for n in node.upstream_nodes) for node in pipeline.components}


def test_components_and_edges_with_curated_schema(tmp_path):
  config = config_lib.build_config({'output_dir': str(tmp_path)})
  assert config.data.schema_path == os.path.join(DIGITS_DIR, 'schema.pbtxt')
  pipeline = create_pipeline(config)
  assert _upstream(pipeline) == {
      'CsvExampleGen': [],
      'StatisticsGen': ['CsvExampleGen'],
      'ImportSchemaGen': [],
      'ExampleValidator': ['ImportSchemaGen', 'StatisticsGen'],
      'SchemaGate': ['ExampleValidator', 'ImportSchemaGen'],
      'Transform': ['CsvExampleGen', 'SchemaGate'],
      'Tuner': ['Transform'],
      'Trainer': ['Transform', 'Tuner'],
      'Evaluator': ['CsvExampleGen', 'Trainer'],
      'Pusher': ['Evaluator', 'Trainer'],
  }
  assert pipeline.pipeline_info.pipeline_root == os.path.join(
      str(tmp_path), 'hypertune-digits', 'pipeline_root')
  # No resolver nodes: the Evaluator finds its baseline in the Pusher's destination.
  evaluator = next(c for c in pipeline.components if c.id == 'Evaluator')
  pusher = next(c for c in pipeline.components if c.id == 'Pusher')
  assert evaluator.exec_properties['baseline_dir'] == config.serving_dir
  assert config.serving_dir in pusher.exec_properties['push_destination']


def test_schema_is_inferred_without_a_curated_one(tmp_path):
  config = config_lib.build_config({'data': {'path': str(tmp_path)}})
  ids = [c.id for c in create_pipeline(config).components]
  assert 'SchemaGen' in ids and 'ImportSchemaGen' not in ids


def test_user_functions_get_the_config_and_code_version():
  config = config_lib.build_config({'seed': 5, 'search': {'max_epochs': 4}})
  pipeline = create_pipeline(config)
  tuner = next(c for c in pipeline.components if c.id == 'Tuner')
  custom = json.loads(tuner.exec_properties['custom_config'])
  # The Tuner's own settings are parameters of their own, not part of the model's config.
  # The Tuner's own default folder (<pipeline_root>/<node id>/TunerState), given explicitly.
  assert tuner.exec_properties['search_state_dir'] == os.path.join(config.pipeline_root,
                                                                   'Tuner', 'TunerState')
  assert (tuner.exec_properties['tuning'], tuner.exec_properties['hyperparameters_file']) == (
      'always', None)
  assert (tuner.exec_properties['parallel_trials'],
          tuner.exec_properties['warm_start_trials']) == (1, 3)
  assert 'parallel_trials' not in custom['search']
  # The search key holds the model code's and the search code's versions.
  assert custom.pop('code_version') == f'{code_version("model")}-{code_version("tuner")}'
  assert custom == {k: v for k, v in user_function_config(config, 'x').items()
                    if k != 'code_version'}
  assert custom['search']['max_epochs'] == 4 and custom['seed'] == 5
  assert tuner.exec_properties['tuner_fn'] == 'tfx_hypertune.model.tuner_fn.tuner_fn'
  # The run values travel as parameters of their own (runtime parameters on Kubeflow).
  assert (tuner.exec_properties['max_epochs'], tuner.exec_properties['max_trials']) == (4, 20)
  evaluator = next(c for c in pipeline.components if c.id == 'Evaluator')
  # No floor unless the user sets one: the majority-class rule decides (components/evaluator.py).
  assert evaluator.exec_properties['accuracy_threshold'] == 0.0
  assert evaluator.exec_properties['label'] == 'label'
  transform = next(c for c in pipeline.components if c.id == 'Transform')
  assert json.loads(transform.exec_properties['custom_config'])['code_version'] == (
      code_version('model'))


def _fake_repo(tmp_path):
  for path in ('model/network.py', 'components/tuner/executor.py',
               'components/tuner/report.py', 'components/validation.py'):
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text('x = 1\n')


@pytest.mark.parametrize('changed, changes', [
    ('model/network.py', {'model'}),
    ('components/tuner/executor.py', {'tuner'}),
    ('components/validation.py', {'schema_gate'}),
    # Warm start picks configurations with report.trial_rows: the report is Tuner code.
    ('components/tuner/report.py', {'tuner'}),
])
def test_code_version_per_layer(tmp_path, monkeypatch, changed, changes):
  from tfx_hypertune.pipeline import pipeline as pipeline_module
  _fake_repo(tmp_path)
  monkeypatch.setattr(pipeline_module, 'REPO_ROOT', tmp_path)
  before = {layer: pipeline_module.code_version(layer) for layer in pipeline_module.CODE_OF}
  (tmp_path / changed).write_text('x = 2\n')
  after = {layer: pipeline_module.code_version(layer) for layer in pipeline_module.CODE_OF}
  assert {layer for layer in before if before[layer] != after[layer]} == changes


def test_span_folders_and_a_reusing_policy_shape_the_dag(tmp_path):
  (tmp_path / 'span-1').mkdir()
  config = config_lib.build_config({'data': {'path': str(tmp_path), 'span_window': 2},
                                    'tuning': 'never'})
  pipeline = create_pipeline(config)
  example_gen = next(c for c in pipeline.components if c.id == 'CsvExampleGen')
  assert json.loads(example_gen.exec_properties['input_config'])['splits'][0]['pattern'] == (
      'span-{SPAN}/*.csv')
  assert example_gen.exec_properties['span_window'] == 2
  # The reusing policy adds no node: the Tuner keeps its latest best values itself.
  assert _upstream(pipeline)['Tuner'] == ['Transform']
  tuner = next(c for c in pipeline.components if c.id == 'Tuner')
  assert tuner.exec_properties['tuning'] == 'never'
  assert tuner.exec_properties['search_state_dir'].endswith('/TunerState')


def test_trials_on_beam_make_the_tuner_a_beam_step_of_the_same_search(tmp_path):
  """trials_on: beam gives the Tuner its own Beam arguments after the pipeline's (the last of
  a repeated flag wins), and changes nothing tuner_fn sees: the search is the same search
  (the same search-state key) wherever its trials run."""
  from tfx.dsl.components.base import executor_spec
  local = config_lib.build_config({'output_dir': str(tmp_path)})
  beam = config_lib.build_config({'output_dir': str(tmp_path), 'search': {
      'trials_on': 'beam', 'parallel_trials': 2}})
  tuners = {name: next(c for c in create_pipeline(config).components if c.id == 'Tuner')
            for name, config in (('local', local), ('beam', beam))}
  assert isinstance(tuners['beam'].executor_spec, executor_spec.BeamExecutorSpec)
  assert tuners['beam'].exec_properties['trials_on'] == 'beam'
  assert tuners['local'].exec_properties['trials_on'] == 'local'
  # TFX puts the pipeline's arguments in front of a Beam component's own.
  assert tuners['beam'].executor_spec.beam_pipeline_args == list(beam.beam_pipeline_args) + [
      '--direct_running_mode=multi_processing', '--direct_num_workers=2']
  assert tuners['local'].executor_spec.beam_pipeline_args == list(local.beam_pipeline_args)
  assert (tuners['local'].exec_properties['custom_config']
          == tuners['beam'].exec_properties['custom_config'])
