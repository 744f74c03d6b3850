"""kubeflow/entrypoint.py: what it changes in a task's ExecutorInput before TFX's entrypoint
reads it, as the open-source KFP backend sends it (empty input types, minio:// URIs, no
ExampleGen driver). The launcher e2e test runs it in every task of a whole pipeline."""

import json

from tfx_hypertune.kubeflow import entrypoint
from tests.conftest import DIGITS_CSV

EXAMPLES_TYPE = {'instanceSchema': 'title: tfx.Examples\ntype: object\n'}


def test_empty_input_types_are_restored_from_the_input_definitions():
  executor_input = {'inputs': {'artifacts': {
      'examples': {'artifacts': [{'uri': 'minio://b/x', 'type': {'instanceSchema': ''}}]},
      'schema': {'artifacts': [{'uri': 'minio://b/s', 'type': {'schemaTitle': 'tfx.Schema'}}]},
  }}}
  inputs_spec = {'artifacts': {'examples': {'artifactType': EXAMPLES_TYPE},
                               'schema': {'artifactType': {'instanceSchema': 'title: other'}}}}
  assert entrypoint.restore_input_types(executor_input, inputs_spec) == 1
  artifacts = executor_input['inputs']['artifacts']
  assert artifacts['examples']['artifacts'][0]['type'] == EXAMPLES_TYPE
  assert artifacts['schema']['artifacts'][0]['type'] == {'schemaTitle': 'tfx.Schema'}  # kept


def test_minio_uris_become_s3_everywhere_and_nothing_else_changes():
  push_destination = json.dumps({'filesystem': {'base_directory': 'minio://m/serving'}})
  value = {'uri': 'minio://mlpipeline/a', 'list': ['minio://b/c', 'gs://x/minio://'],
           'n': 3, 'nested': {'base': 'minio://m/serving'}, 'push': push_destination}
  assert entrypoint.map_scheme(value, 'minio://', 's3://') == {
      'uri': 's3://mlpipeline/a', 'list': ['s3://b/c', 'gs://x/minio://'], 'n': 3,
      'nested': {'base': 's3://m/serving'},
      'push': json.dumps({'filesystem': {'base_directory': 's3://m/serving'}})}


def test_s3_settings_come_from_the_environment_unless_given(monkeypatch):
  for name in ('S3_ENDPOINT', 'S3_USE_HTTPS'):
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setenv('MINIO_SERVICE_SERVICE_HOST', '10.0.0.7')
  monkeypatch.setenv('MINIO_SERVICE_SERVICE_PORT', '9000')
  monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'minio')
  monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'minio123')
  monkeypatch.delenv('AWS_REGION', raising=False)
  entrypoint.s3_environment()  # in a KFP pod: the install's minio-service
  import os
  assert os.environ['S3_ENDPOINT'] == 'http://10.0.0.7:9000'
  args = entrypoint.s3_beam_args(['--runner=DirectRunner', '--s3_access_key_id=given'])
  assert args == ['--runner=DirectRunner', '--s3_access_key_id=given',
                  '--s3_endpoint_url=http://10.0.0.7:9000', '--s3_secret_access_key=minio123']
  monkeypatch.setenv('S3_ENDPOINT', 'storage.example:443')  # tensorflow-io's host:port form
  monkeypatch.setenv('S3_USE_HTTPS', '1')
  assert '--s3_endpoint_url=https://storage.example:443' in entrypoint.s3_beam_args([])


def test_flags_in_both_forms():
  argv = ['--executor_class_path', 'a.B', '--json_serialized_invocation_args={"x": 1}']
  assert entrypoint.flag_value(argv, entrypoint.INVOCATION_FLAG) == (2, '{"x": 1}')
  assert entrypoint.set_flag_value(argv, entrypoint.INVOCATION_FLAG, '{}')[2] == (
      '--json_serialized_invocation_args={}')
  spaced = ['--json_serialized_invocation_args', '{"x": 1}']
  assert entrypoint.set_flag_value(spaced, entrypoint.INVOCATION_FLAG, '{}') == [
      '--json_serialized_invocation_args', '{}']
  assert entrypoint.flag_value(['--other'], entrypoint.INVOCATION_FLAG) == (-1, '')


def test_exampleGens_driver_runs_when_no_hook_did(tmp_path):
  """No preCacheCheck ran (no output file): TFX's own driver resolves the input and its
  fingerprint, and the executor gets the driver's view, as on Vertex."""
  data = tmp_path / 'data'
  data.mkdir()
  (data / 'digits.csv').write_bytes(open(DIGITS_CSV, 'rb').read()[:5000])
  output_file = tmp_path / 'task' / 'executor_output.json'
  executor_input = {
      'inputs': {'parameterValues': {
          'input_base': str(data),
          'input_config': json.dumps({'splits': [{'name': 'single_split',
                                                  'pattern': '*.csv'}]}),
          'output_config': '{}'}},
      'outputs': {'artifacts': {'examples': {'artifacts': [{
          'name': 'e', 'uri': str(tmp_path / 'examples'), 'type': EXAMPLES_TYPE}]}},
          'outputFile': str(output_file)}}
  inputs_spec = {'parameters': {name: {'parameterType': 'STRING'} for name in (
      'input_base', 'input_config', 'output_config')}}
  argv = ['--executor_class_path', 'tfx_hypertune.components.example_gen.Executor',
          '--json_serialized_invocation_args', json.dumps(executor_input),
          '--json_serialized_inputs_spec_args', json.dumps(inputs_spec)]
  prepared, done = entrypoint.prepare(argv)
  assert done == {'restored_types': 0, 'minio': False, 's3': False, 'driver': True,
                  'output_file': str(output_file)}
  sent = json.loads(prepared[3])
  metadata = sent['outputs']['artifacts']['examples']['artifacts'][0]['metadata']
  assert metadata['custom:span'] == 0 and 'total_bytes:5000' in metadata['input_fingerprint']
  written = json.loads(output_file.read_text())
  assert written['parameterValues']['span'] == 0
  # Run again with the output file present (Vertex ran the hook): the driver is not rerun.
  assert entrypoint.prepare(argv)[1]['driver'] is False
