"""`hypertune compile`: the KFP v2 spec the same create_pipeline(config) compiles to, parsed
with kfp's own PipelineSpec proto. (This proves the spec's shape, not a cluster run.)"""

import json

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from tests.conftest import KFP_IMAGE as IMAGE


@pytest.fixture(scope='module')
def compiled(compiled_kfp):
  json_path, yaml_path = compiled_kfp
  with open(json_path) as f:
    job = json.load(f)
  spec = json_format.ParseDict(job['pipelineSpec'], pipeline_spec_pb2.PipelineSpec())
  with open(yaml_path) as f:
    from_yaml = json_format.ParseDict(yaml.safe_load(f), pipeline_spec_pb2.PipelineSpec())
  return job, spec, from_yaml


def _param(task, name):
  return task.inputs.parameters[name].runtime_value.constant.string_value or (
      task.inputs.parameters[name].runtime_value.constant_value.string_value)


def test_tasks_and_dependencies(compiled):
  job, spec, from_yaml = compiled
  # The YAML is the same spec plus the runtime parameters' defaults.
  stripped = pipeline_spec_pb2.PipelineSpec()
  stripped.CopyFrom(from_yaml)
  for definition in stripped.root.input_definitions.parameters.values():
    definition.ClearField('default_value')
  assert stripped == spec
  tasks = spec.root.dag.tasks
  assert set(tasks) >= {'CsvExampleGen', 'StatisticsGen', 'SchemaGen', 'ExampleValidator',
                        'SchemaGate', 'Transform', 'Tuner', 'Trainer', 'Evaluator', 'Pusher'}
  assert set(tasks['Transform'].dependent_tasks) == {'CsvExampleGen', 'SchemaGate'}
  assert set(tasks['SchemaGate'].dependent_tasks) == {'ExampleValidator', 'SchemaGen'}
  assert set(tasks['Trainer'].dependent_tasks) == {'Transform', 'Tuner'}
  assert set(tasks['Pusher'].dependent_tasks) == {'Evaluator', 'Trainer'}
  assert job['runtimeConfig']['gcsOutputDirectory'] == 'gs://bucket/root'


def test_every_task_runs_our_image_and_executors(compiled):
  _, spec, _ = compiled
  executors = json_format.MessageToDict(spec.deployment_spec)['executors']
  containers = {name: e['container'] for name, e in executors.items() if 'container' in e}
  assert len(containers) == 10
  for container in containers.values():
    assert container['image'] == IMAGE
    assert container['command'][-1] == (
        'tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor')
  class_path = lambda name: containers[name]['args'][  # noqa: E731
      containers[name]['args'].index('--executor_class_path') + 1]
  assert class_path('Tuner_executor') == 'components.tuner.executor.Executor'
  assert class_path('Evaluator_executor') == 'components.evaluator.Executor'
  assert class_path('CsvExampleGen_executor') == 'components.example_gen.Executor'
  # ExampleGen keeps TFX's span driver (a FileBasedExampleGen subclass).
  assert containers['CsvExampleGen_executor']['lifecycle']['preCacheCheck']['command'][-1] == (
      'tfx.orchestration.kubeflow.v2.file_based_example_gen.driver')
  assert class_path('SchemaGate_executor').startswith('components.validation.')


def test_user_functions_and_settings_travel_as_parameters(compiled):
  _, spec, _ = compiled
  tasks = spec.root.dag.tasks
  assert _param(tasks['Transform'], 'preprocessing_fn') == 'model.transform.preprocessing_fn'
  assert _param(tasks['Tuner'], 'tuner_fn') == 'model.tuner_fn.tuner_fn'
  assert _param(tasks['Trainer'], 'run_fn') == 'model.trainer.run_fn'
  tuner_config = json.loads(_param(tasks['Tuner'], 'custom_config'))
  assert tuner_config['search']['max_epochs'] == 4
  assert _param(tasks['Tuner'], 'search_state_dir') == 'gs://bucket/root/TunerState'


def test_run_values_are_runtime_parameters(compiled):
  job, spec, from_yaml = compiled
  tasks = spec.root.dag.tasks
  wired = {(task, name): tasks[task].inputs.parameters[name].component_input_parameter
           for task, name in [('CsvExampleGen', 'input_base'), ('Tuner', 'max_epochs'),
                              ('Tuner', 'max_trials'), ('Evaluator', 'accuracy_threshold')]}
  assert wired == {('CsvExampleGen', 'input_base'): 'data_uri',
                   ('Tuner', 'max_epochs'): 'max_epochs',
                   ('Tuner', 'max_trials'): 'max_trials',
                   ('Evaluator', 'accuracy_threshold'): 'accuracy_threshold'}
  types = {name: pipeline_spec_pb2.ParameterType.ParameterTypeEnum.Name(d.parameter_type)
           for name, d in spec.root.input_definitions.parameters.items()}
  assert types == {'data_uri': 'STRING', 'max_epochs': 'NUMBER_INTEGER',
                   'max_trials': 'NUMBER_INTEGER', 'accuracy_threshold': 'NUMBER_DOUBLE'}
  assert job['runtimeConfig']['parameterValues'] == {
      'data_uri': 'gs://bucket/data', 'max_epochs': 4, 'max_trials': 20,
      'accuracy_threshold': 0.0}
  assert from_yaml.root.input_definitions.parameters['max_epochs'].default_value.number_value == 4
  # The DAG's shape is fixed: the default policy (always) has no hyperparameter resolver.
  assert 'latest_hyperparameters_resolver' not in tasks
