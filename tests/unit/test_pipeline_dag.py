"""The DAG create_pipeline builds: components, edges, and what the config decides."""

import json
import os

from pipeline import config as config_lib
from pipeline.pipeline import code_version, create_pipeline, user_function_config
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
      'latest_blessed_model_resolver': ['Trainer'],
      'Evaluator': ['CsvExampleGen', 'Trainer', 'latest_blessed_model_resolver'],
      'Pusher': ['Evaluator', 'Trainer'],
  }
  assert pipeline.pipeline_info.pipeline_root == os.path.join(
      str(tmp_path), 'hypertune-digits', 'pipeline_root')


def test_schema_is_inferred_without_a_curated_one(tmp_path):
  config = config_lib.build_config({'data': {'path': str(tmp_path)}})
  ids = [c.id for c in create_pipeline(config).components]
  assert 'SchemaGen' in ids and 'ImportSchemaGen' not in ids


def test_user_functions_get_the_config_and_code_version():
  config = config_lib.build_config({'seed': 5, 'search': {'max_epochs': 4}})
  pipeline = create_pipeline(config)
  tuner = next(c for c in pipeline.components if c.id == 'Tuner')
  custom = json.loads(tuner.exec_properties['custom_config'])
  assert custom.pop('search_state_dir') == os.path.join(config.pipeline_root, 'TunerState')
  assert custom.pop('pipeline_name') == 'hypertune-digits'
  assert (custom.pop('tuning'), custom.pop('hyperparameters_file')) == ('always', None)
  assert custom == user_function_config(config, code_version())
  assert custom['search']['max_epochs'] == 4 and custom['seed'] == 5
  assert tuner.exec_properties['tuner_fn'] == 'components.tuner_fn.tuner_fn'
  # The run values travel as parameters of their own (runtime parameters on Kubeflow).
  assert (tuner.exec_properties['max_epochs'], tuner.exec_properties['max_trials']) == (4, 20)
  evaluator = next(c for c in pipeline.components if c.id == 'Evaluator')
  assert evaluator.exec_properties['accuracy_threshold'] == 0.9
  transform = next(c for c in pipeline.components if c.id == 'Transform')
  assert json.loads(transform.exec_properties['custom_config'])['code_version'] == code_version()


def test_code_version_changes_with_component_code(tmp_path, monkeypatch):
  from pipeline import pipeline as pipeline_module
  (tmp_path / 'a.py').write_text('x = 1\n')
  monkeypatch.setattr(pipeline_module, 'COMPONENTS_DIR', tmp_path)
  before = pipeline_module.code_version()
  (tmp_path / 'a.py').write_text('x = 2\n')
  assert pipeline_module.code_version() != before


def test_span_folders_and_a_reusing_policy_shape_the_dag(tmp_path):
  (tmp_path / 'span-1').mkdir()
  config = config_lib.build_config({'data': {'path': str(tmp_path), 'span_window': 2},
                                    'tuning': 'never'})
  pipeline = create_pipeline(config)
  example_gen = next(c for c in pipeline.components if c.id == 'CsvExampleGen')
  assert json.loads(example_gen.exec_properties['input_config'])['splits'][0]['pattern'] == (
      'span-{SPAN}/*.csv')
  assert example_gen.exec_properties['span_window'] == 2
  upstream = _upstream(pipeline)
  assert upstream['latest_hyperparameters_resolver'] == []
  assert upstream['Tuner'] == ['Transform', 'latest_hyperparameters_resolver']
