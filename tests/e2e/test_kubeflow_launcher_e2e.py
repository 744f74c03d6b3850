"""The compiled Kubeflow pipeline, executed as open-source KFP 2.x with MinIO would execute it.

`hypertune compile` (target kfp, root minio://mlpipeline/...), then `hypertune launch` twice
against an S3-compatible server on 127.0.0.1 (moto) standing in for MinIO. The launcher acts as
the open-source backend: every task gets its ExecutorInput with minio:// artifact URIs and
upstream artifacts with an empty type schema, no preCacheCheck runs, and each task's container
command from the spec runs as a subprocess (this interpreter instead of the image). Run 1
searches with two parallel trial workers and pushes a model into the bucket; run 2, on new
rows, reuses run 1's hyperparameters (tuning: never) and compares its model with run 1's pushed
model, which the Evaluator found in the push destination, not through a resolver.
(No cluster and no image: see kubeflow/README.md.)
"""

import glob
import json
import os
import re
import shutil

import pytest

from tests.conftest import DIGITS_DIR, read_digits_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

BUCKET = 'mlpipeline'
ROOT = f'minio://{BUCKET}/v2/artifacts/hypertune-digits'


def _digits_folder(folder, rows):
  header, all_rows = read_digits_rows(rows.stop)
  write_csv(folder / 'digits.csv', header, all_rows[rows.start:rows.stop])
  shutil.copy(os.path.join(DIGITS_DIR, 'schema.pbtxt'), folder / 'schema.pbtxt')
  return folder


@pytest.fixture(scope='module')
def launched(tmp_path_factory):
  work = tmp_path_factory.mktemp('kfp-oss')
  first_rows = _digits_folder(work / 'rows-0-900', range(0, 900))
  new_rows = _digits_folder(work / 'rows-900-1797', range(900, 1797))
  from tfx_hypertune.hypertune import cli
  # The bundled data and the default budget are compiled in; the runs override both.
  assert cli.main(['compile', '--target', 'kfp', '--pipeline-root', ROOT,
                   '--set', 'tuning=never', '--set', 'search.parallel_trials=2',
                   '--out', str(work / 'compiled')]) == 0
  spec_path = str(work / 'compiled' / 'hypertune-digits.yaml')
  from tfx_hypertune.kubeflow import launcher
  with helpers.moto_s3_server(BUCKET) as (env, client):
    first = launcher.launch(spec_path, environment=env, parameters={
        'data_uri': str(first_rows), 'max_epochs': '2', 'accuracy_threshold': '0.5'})
    second = launcher.launch(spec_path, environment=env, parameters={
        'data_uri': str(new_rows), 'max_epochs': '2'})
    keys = helpers.bucket_keys(client, BUCKET)
    read = lambda uri: client.get_object(  # noqa: E731
        Bucket=BUCKET, Key=_key(uri))['Body'].read().decode()
    yield {'work': work, 'first': first, 'second': second, 'keys': keys, 'read': read,
           'spec': spec_path}


def _key(uri):
  """The object key of a minio:// or s3:// URI in the bucket."""
  return uri.split('://', 1)[1][len(BUCKET) + 1:]


def _only(result, task, key):
  (artifact,) = result.outputs[task][key]
  return artifact


def _entrypoint_report(result, task):
  with open(os.path.join(result.log_dir, task, 'executor.log')) as f:
    line = next(l for l in f if l.startswith('[hypertune entrypoint]'))
  return json.loads(line.split(']', 1)[1])


def test_every_task_ran_as_the_open_source_backend_runs_it(launched):
  first = launched['first']
  assert first.backend == 'kfp'
  assert set(first.seconds) == {'CsvExampleGen', 'StatisticsGen', 'ImportSchemaGen',
                                'ExampleValidator', 'SchemaGate', 'Transform', 'Tuner',
                                'Trainer', 'Evaluator', 'Pusher'}
  # The entrypoint restored the empty input types, mapped minio:// and ran ExampleGen's
  # driver itself (the backend runs no preCacheCheck).
  example_gen = _entrypoint_report(first, 'CsvExampleGen')
  assert example_gen['driver'] is True and example_gen['minio'] is True
  trainer = _entrypoint_report(first, 'Trainer')
  assert trainer['restored_types'] == 3 and trainer['driver'] is False
  # The driver's fingerprint is of the file the run was given (a runtime parameter).
  size = os.path.getsize(launched['work'] / 'rows-0-900' / 'digits.csv')
  assert f'total_bytes:{size}' in _only(first, 'CsvExampleGen', 'examples').metadata[
      'input_fingerprint']


def test_every_artifact_is_in_the_object_store(launched):
  keys = launched['keys']
  for result in (launched['first'], launched['second']):
    for task, outputs in result.outputs.items():
      for key, (artifact,) in outputs.items():
        assert artifact.uri.startswith(f'{ROOT}/'), (task, key, artifact.uri)
        if task != 'Pusher':  # the pushed model is under serving/ (below)
          assert any(k.startswith(_key(artifact.uri) + '/') for k in keys), (task, key)
  # A stray os.makedirs('minio://...') in a task would leave a folder in its working dir.
  for result in (launched['first'], launched['second']):
    assert not [p for p in glob.glob(os.path.join(result.log_dir, '**'), recursive=True)
                if os.path.basename(p) in ('minio:', 's3:')]


def test_run_one_searched_in_parallel_and_pushed_into_the_bucket(launched):
  first, read = launched['first'], launched['read']
  info = json.loads(read(_only(first, 'Tuner', 'tuner_results').uri + '/search_info.json'))
  assert info['parallel_trials'] == 2 and info['worker_failures'] == []
  assert info['trials_completed'] >= 2
  assert info['tuning_decision'] == 'searching: no earlier search on this dataset (first run)'
  budget = json.loads(read(_only(first, 'Tuner', 'best_hyperparameters').uri
                           + '/best_hyperparameters.txt'))['search_budget']
  assert budget['max_epochs'] == 2  # the runtime parameter, not the compiled 10
  blessing = _only(first, 'Evaluator', 'blessing').metadata
  assert blessing['blessed'] == 1
  assert 'accuracy' in blessing['blessing_rule'] and 'no earlier blessed model' in blessing[
      'blessing_rule']
  pushed = _only(first, 'Pusher', 'pushed_model').metadata
  assert pushed['pushed'] == 1 and pushed['pushed_destination'].startswith(f'{ROOT}/serving/')
  assert _key(pushed['pushed_destination']) + '/saved_model.pb' in launched['keys']


def test_run_two_reused_run_ones_hyperparameters(launched):
  first, second, read = launched['first'], launched['second'], launched['read']
  info = json.loads(read(_only(second, 'Tuner', 'tuner_results').uri + '/search_info.json'))
  assert info['trials_run'] == 0
  # Read from where run 1's Tuner kept its best values, in the bucket under the root.
  assert _key(info['reused_file']).startswith(_key(ROOT) + '/TunerState/latest/')
  assert info['reused_file'].endswith('/best_hyperparameters.txt')
  reused = json.loads(read(_only(second, 'Tuner', 'best_hyperparameters').uri
                           + '/best_hyperparameters.txt'))
  searched = json.loads(read(_only(first, 'Tuner', 'best_hyperparameters').uri
                             + '/best_hyperparameters.txt'))
  assert reused == searched


def test_run_two_was_compared_with_run_ones_pushed_model(launched):
  first, second, read = launched['first'], launched['second'], launched['read']
  first_push = _only(first, 'Pusher', 'pushed_model').metadata['pushed_destination']
  evaluation = _only(second, 'Evaluator', 'evaluation').uri
  baseline = json.loads(read(evaluation + '/baseline.json'))
  assert _key(baseline['baseline_model']) == _key(first_push)
  blessing = _only(second, 'Evaluator', 'blessing').metadata
  assert blessing['baseline_model_uri'] == first_push  # minio:// again, as the backend gave
  # TFMA really evaluated both models: the rule quotes the baseline's accuracy.
  assert re.search(r'last blessed model \d\.\d{4}', blessing['blessing_rule'])


def test_the_launcher_refuses_resolver_tasks(launched, tmp_path):
  import yaml
  from tfx_hypertune.kubeflow import launcher
  with open(launched['spec']) as f:
    spec = yaml.safe_load(f)
  label = spec['components']['Evaluator']['executorLabel']
  spec['deploymentSpec']['executors'][label] = {'resolver': {'outputArtifactQueries': {}}}
  path = tmp_path / 'with-resolver.yaml'
  path.write_text(yaml.safe_dump(spec))
  with pytest.raises(launcher.LaunchError, match='task Evaluator: a resolver executor'):
    launcher.launch(str(path), pipeline_root=str(tmp_path / 'root'))
  assert not (tmp_path / 'root').exists()  # refused before anything ran
