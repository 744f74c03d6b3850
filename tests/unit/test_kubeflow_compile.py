"""`hypertune compile`: the KFP v2 spec the same create_pipeline(config) compiles to, parsed
with kfp's own PipelineSpec proto. (This proves the spec's shape, not a cluster run.)"""

import json

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline import cli

IMAGE = 'registry.example/tfx-hypertune:1'


@pytest.fixture(scope='module')
def compiled(tmp_path_factory):
  out = tmp_path_factory.mktemp('kfp')
  assert cli.main(['compile', '--image', IMAGE, '--pipeline-root', 'gs://bucket/root',
                   '--data', 'gs://bucket/data', '--max-epochs', '4', '--out', str(out)]) == 0
  with open(out / 'hypertune-digits.json') as f:
    job = json.load(f)
  spec = json_format.ParseDict(job['pipelineSpec'], pipeline_spec_pb2.PipelineSpec())
  with open(out / 'hypertune-digits.yaml') as f:
    from_yaml = json_format.ParseDict(yaml.safe_load(f), pipeline_spec_pb2.PipelineSpec())
  return job, spec, from_yaml


def _param(task, name):
  return task.inputs.parameters[name].runtime_value.constant.string_value or (
      task.inputs.parameters[name].runtime_value.constant_value.string_value)


def test_tasks_and_dependencies(compiled):
  job, spec, from_yaml = compiled
  assert from_yaml == spec
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
  assert class_path('SchemaGate_executor').startswith('components.validation.')


def test_user_functions_and_settings_travel_as_parameters(compiled):
  _, spec, _ = compiled
  tasks = spec.root.dag.tasks
  assert _param(tasks['Transform'], 'preprocessing_fn') == 'components.transform.preprocessing_fn'
  assert _param(tasks['Tuner'], 'tuner_fn') == 'components.tuner_fn.tuner_fn'
  assert _param(tasks['Trainer'], 'run_fn') == 'components.trainer.run_fn'
  tuner_config = json.loads(_param(tasks['Tuner'], 'custom_config'))
  assert tuner_config['search']['max_epochs'] == 4
  assert tuner_config['search_state_dir'] == 'gs://bucket/root/TunerState'
  assert _param(tasks['CsvExampleGen'], 'input_base') == 'gs://bucket/data'
