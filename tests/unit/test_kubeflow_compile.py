"""`hypertune compile`: the KFP v2 spec the same create_pipeline(config) compiles to, for
open-source Kubeflow Pipelines (YAML) and for Vertex AI (PipelineJob JSON), parsed with kfp's
own PipelineSpec proto and loaded with kfp's own loader. (This proves the spec's shape; the
launcher e2e test runs it.)"""

import json
import os

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from tfx_hypertune.kubeflow import runner
from tests.conftest import KFP_IMAGE as IMAGE



@pytest.fixture(scope='module')
def compiled(compiled_kfp):
  json_path, yaml_path = compiled_kfp
  with open(json_path) as f:
    job = json.load(f)
  vertex = json_format.ParseDict(job['pipelineSpec'], pipeline_spec_pb2.PipelineSpec())
  with open(yaml_path) as f:
    kfp_spec = json_format.ParseDict(yaml.safe_load(f), pipeline_spec_pb2.PipelineSpec())
  return job, vertex, kfp_spec


def _param(task, name):
  return task.inputs.parameters[name].runtime_value.constant.string_value or (
      task.inputs.parameters[name].runtime_value.constant_value.string_value)


def _executors(spec):
  return json_format.MessageToDict(spec.deployment_spec)['executors']


def test_tasks_and_dependencies(compiled):
  job, vertex, kfp_spec = compiled
  # The two targets differ only in ExampleGen's driver hook and the default root.
  stripped = pipeline_spec_pb2.PipelineSpec()
  stripped.CopyFrom(vertex)
  stripped.deployment_spec.fields['executors'].struct_value.fields[
      'CsvExampleGen_executor'].struct_value.fields['container'].struct_value.fields.pop(
          'lifecycle')
  stripped.default_pipeline_root = 'gs://bucket/root'
  assert stripped == kfp_spec
  tasks = kfp_spec.root.dag.tasks
  assert set(tasks) == {'CsvExampleGen', 'StatisticsGen', 'SchemaGen', 'ExampleValidator',
                        'SchemaGate', 'Transform', 'Tuner', 'Trainer', 'Evaluator', 'Pusher'}
  assert set(tasks['Transform'].dependent_tasks) == {'CsvExampleGen', 'SchemaGate'}
  assert set(tasks['SchemaGate'].dependent_tasks) == {'ExampleValidator', 'SchemaGen'}
  assert set(tasks['Trainer'].dependent_tasks) == {'Transform', 'Tuner'}
  assert set(tasks['Evaluator'].dependent_tasks) == {'CsvExampleGen', 'Trainer'}
  assert set(tasks['Pusher'].dependent_tasks) == {'Evaluator', 'Trainer'}
  assert job['runtimeConfig']['gcsOutputDirectory'] == 'gs://bucket/root'


@pytest.mark.parametrize('target', ['vertex', 'kfp'])
def test_every_task_is_a_container_of_our_image_and_executors(compiled, target):
  spec = compiled[1] if target == 'vertex' else compiled[2]
  executors = _executors(spec)
  assert all(list(e) == ['container'] for e in executors.values())  # no resolver, importer
  containers = {name: e['container'] for name, e in executors.items()}
  assert len(containers) == 10
  for container in containers.values():
    assert container['image'] == IMAGE
    # TFX's v2 entrypoint behind our shim for the open-source backend.
    assert container['command'] == ['python', '-m', 'tfx_hypertune.kubeflow.entrypoint']
    assert '--json_serialized_inputs_spec_args' in container['args']
  class_path = lambda name: containers[name]['args'][  # noqa: E731
      containers[name]['args'].index('--executor_class_path') + 1]
  assert class_path('Tuner_executor') == 'tfx_hypertune.components.tuner.executor.Executor'
  assert class_path('Evaluator_executor') == 'tfx_hypertune.components.evaluator.Executor'
  assert class_path('CsvExampleGen_executor') == 'tfx_hypertune.components.example_gen.Executor'
  assert class_path('SchemaGate_executor').startswith('tfx_hypertune.components.validation.')
  hook = containers['CsvExampleGen_executor'].get('lifecycle', {}).get('preCacheCheck')
  if target == 'vertex':  # Vertex runs ExampleGen's span driver as a lifecycle hook
    assert hook['command'][-1] == 'tfx.orchestration.kubeflow.v2.file_based_example_gen.driver'
  else:  # the open-source backend never does: the entrypoint runs the driver itself
    assert hook is None


def test_kfps_own_loader_reads_the_spec(compiled_kfp):
  import kfp.components
  component = kfp.components.load_component_from_file(compiled_kfp[1])
  assert component.name == 'hypertune-digits'
  executors = json_format.MessageToDict(component.pipeline_spec.deployment_spec)['executors']
  # The kinds the open-source backend's workflow compiler implements: container, importer.
  assert {kind for e in executors.values() for kind in e} <= {'container', 'importer'}
  assert set(component.component_spec.inputs) == {'data_uri', 'max_epochs', 'max_trials',
                                                  'max_minutes', 'accuracy_threshold'}


def test_kfps_local_runner_cannot_run_a_pipeline(compiled_kfp):
  """kfp.local (2.5) runs single components, not pipelines: the reason we keep our launcher
  (kubeflow/README.md). If kfp ever can, this fails and says: use it too."""
  import kfp.components
  from kfp import local
  local.init(runner=local.SubprocessRunner(use_venv=False))
  component = kfp.components.load_component_from_file(compiled_kfp[1])
  with pytest.raises(NotImplementedError, match='Local pipeline execution is not currently'):
    component(data_uri='x', max_epochs=1, max_trials=1, max_minutes=0.0,
              accuracy_threshold=0.0)


def test_user_functions_and_settings_travel_as_parameters(compiled):
  tasks = compiled[2].root.dag.tasks
  assert _param(tasks['Transform'], 'preprocessing_fn') == (
      'tfx_hypertune.model.transform.preprocessing_fn')
  assert _param(tasks['Tuner'], 'tuner_fn') == 'tfx_hypertune.model.tuner_fn.tuner_fn'
  assert _param(tasks['Trainer'], 'run_fn') == 'tfx_hypertune.model.trainer.run_fn'
  tuner_config = json.loads(_param(tasks['Tuner'], 'custom_config'))
  assert tuner_config['search']['max_epochs'] == 4
  assert _param(tasks['Tuner'], 'search_state_dir') == 'gs://bucket/root/Tuner/TunerState'
  # The Evaluator finds its baseline where the Pusher pushes.
  assert _param(tasks['Evaluator'], 'baseline_dir') == 'gs://bucket/root/serving'
  assert 'gs://bucket/root/serving' in _param(tasks['Pusher'], 'push_destination')


def test_run_values_are_runtime_parameters(compiled):
  job, vertex, kfp_spec = compiled
  tasks = vertex.root.dag.tasks
  wired = {(task, name): tasks[task].inputs.parameters[name].component_input_parameter
           for task, name in [('CsvExampleGen', 'input_base'), ('Tuner', 'max_epochs'),
                              ('Tuner', 'max_trials'), ('Tuner', 'max_minutes'),
                              ('Evaluator', 'accuracy_threshold')]}
  assert wired == {('CsvExampleGen', 'input_base'): 'data_uri',
                   ('Tuner', 'max_epochs'): 'max_epochs',
                   ('Tuner', 'max_trials'): 'max_trials',
                   ('Tuner', 'max_minutes'): 'max_minutes',
                   ('Evaluator', 'accuracy_threshold'): 'accuracy_threshold'}
  types = {name: pipeline_spec_pb2.ParameterType.ParameterTypeEnum.Name(d.parameter_type)
           for name, d in vertex.root.input_definitions.parameters.items()}
  assert types == {'data_uri': 'STRING', 'max_epochs': 'NUMBER_INTEGER',
                   'max_trials': 'NUMBER_INTEGER', 'max_minutes': 'NUMBER_DOUBLE',
                   'accuracy_threshold': 'NUMBER_DOUBLE'}
  assert job['runtimeConfig']['parameterValues'] == {
      'data_uri': 'gs://bucket/data', 'max_epochs': 4, 'max_trials': 20, 'max_minutes': 0.0,
      'accuracy_threshold': 0.0}
  assert kfp_spec.root.input_definitions.parameters['max_epochs'].default_value.number_value == 4


def test_the_bundled_data_is_compiled_in_as_the_images_copy(tmp_path):
  """No path of this machine in the spec: the bundled data and its curated schema are
  compiled in as /app/..., where kubeflow/Dockerfile puts this repository."""
  from tfx_hypertune.hypertune import cli
  assert cli.main(['compile', '--out', str(tmp_path)]) == 0
  text = (tmp_path / 'hypertune-digits.yaml').read_text()
  assert runner.REPO_DIR not in text
  spec = yaml.safe_load(text)
  assert spec['defaultPipelineRoot'] == 'minio://mlpipeline/v2/artifacts/hypertune-digits'
  assert spec['root']['inputDefinitions']['parameters']['data_uri']['defaultValue'] == (
      '/app/data/digits')
  schema_gen = spec['root']['dag']['tasks']['ImportSchemaGen']['inputs']['parameters']
  assert schema_gen['schema_file']['runtimeValue']['constant'] == '/app/data/digits/schema.pbtxt'
  with open(os.path.join(runner.REPO_DIR, 'kubeflow', 'Dockerfile')) as f:
    dockerfile = f.read()
  assert f'WORKDIR {runner.IMAGE_APP_DIR}' in dockerfile and 'COPY data/ data/' in dockerfile


def test_a_regression_compiles_to_the_regression_tasks(tmp_path):
  """examples/diabetes.yaml compiled: the task and the label reach Transform, the Tuner, the
  Trainer and the Evaluator, whose eval config bounds RMSE (not accuracy). The compiled
  containers run as the launcher e2e test shows for a classification; the regression
  executors run in test_regression_e2e.py (this replaced launching the regression spec, a
  second launcher run of the same containers)."""
  from tfx_hypertune.hypertune import cli
  from tfx_hypertune.pipeline import config as config_lib
  example = os.path.join(str(config_lib.REPO_ROOT), 'examples', 'diabetes.yaml')
  assert cli.main(['compile', '--config', example, '--pipeline-root', 's3://b/root',
                   '--out', str(tmp_path)]) == 0
  with open(tmp_path / 'hypertune-diabetes.yaml') as f:
    spec = json_format.ParseDict(yaml.safe_load(f), pipeline_spec_pb2.PipelineSpec())
  tasks = spec.root.dag.tasks
  for task in ('Transform', 'Tuner', 'Trainer'):
    config = json.loads(_param(tasks[task], 'custom_config'))
    assert (config['task'], config['label']) == ('regression', 'progression'), task
  assert json.loads(_param(tasks['Tuner'], 'custom_config'))['search']['objective'] == 'val_loss'
  assert _param(tasks['Evaluator'], 'task') == 'regression'
  assert _param(tasks['Evaluator'], 'label') == 'progression'
  eval_config = json.loads(_param(tasks['Evaluator'], 'eval_config'))
  metrics = [m['class_name'] for spec_ in eval_config['metrics_specs'] for m in spec_['metrics']]
  assert 'RootMeanSquaredError' in metrics and 'SparseCategoricalAccuracy' not in metrics
  assert eval_config['model_specs'][0]['prediction_key'] == 'predicted_value'


def test_roots_and_data_a_target_cannot_use_fail_in_one_line(tmp_path, capsys):
  from tfx_hypertune.hypertune import cli
  from tests.conftest import read_digits_rows, write_csv
  local_data = tmp_path / 'mine'
  write_csv(local_data / 'digits.csv', *read_digits_rows(200))
  cases = [
      (['--target', 'vertex'], '--pipeline-root: required for --target vertex'),
      (['--target', 'vertex', '--pipeline-root', 's3://b/r'],
       '--pipeline-root s3://b/r: --target vertex needs a gs:// URI'),
      (['--pipeline-root', 'http://x/r'], '--target kfp needs a minio:// or s3:// or gs://'),
      (['--pipeline-root', 'relative/root'], '--pipeline-root relative/root: give a bucket'),
      (['--data', str(local_data)], f'--data {local_data}: a folder on this machine, which '
                                    'the cluster cannot read'),
  ]
  for flags, message in cases:
    assert cli.main(['compile', '--out', str(tmp_path / 'out'), *flags]) == 2, flags
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
  assert not (tmp_path / 'out').exists()
