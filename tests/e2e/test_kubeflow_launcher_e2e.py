"""The compiled Kubeflow pipeline, executed as open-source KFP 2.x with MinIO would execute it,
against an S3-compatible server on 127.0.0.1 (moto) standing in for MinIO.

Two runs of our digits pipeline share the bucket's pipeline root:
- the first runs with LocalDagRunner (tests/e2e/seed_bucket_run.py, in a process of its own):
  two parallel trial workers, its search state, worker logs and report in the bucket, a model
  pushed there. This is also the test of a LocalDagRunner pipeline on a bucket root;
- the second is `hypertune compile` (target kfp, root minio://mlpipeline/..., the Tuner's trials
  on Beam) then `hypertune launch` on new rows. The launcher acts as the open-source backend:
  every task gets its ExecutorInput with minio:// artifact URIs and upstream artifacts with an
  empty type schema, no preCacheCheck runs, and each task's container command from the spec
  runs as a subprocess (this interpreter instead of the image). Its search warm-starts from the
  first run's best configurations (read back from the bucket's TunerState/), runs its trials as
  Beam pipelines on two worker processes, and its model is compared with the first run's pushed
  model, which the Evaluator found in the push destination, not through a resolver.
(The first run was launched from the compiled spec too until the suite outgrew 20 minutes:
each launched task is a process that imports TensorFlow and TFX, about 20 s, as a pod does;
one launched run keeps every check of the compiled spec.) The retune policy's reuse (tuning:
never) is test_spans_retune_e2e.py's. (No cluster and no image: see kubeflow/README.md.)
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import DIGITS_DIR, REPO, read_digits_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

BUCKET = 'mlpipeline'
ROOT = f'minio://{BUCKET}/v2/artifacts/hypertune-digits'
S3_ROOT = ROOT.replace('minio://', 's3://')


def _digits_folder(folder, rows):
  header, all_rows = read_digits_rows(rows.stop)
  write_csv(folder / 'digits.csv', header, all_rows[rows.start:rows.stop])
  shutil.copy(os.path.join(DIGITS_DIR, 'schema.pbtxt'), folder / 'schema.pbtxt')
  return folder


def _seed_run(env, data_dir, metadata_path):
  """The first run, with LocalDagRunner on the bucket root; its nodes from ML Metadata."""
  done = subprocess.run([sys.executable, '-m', 'tests.e2e.seed_bucket_run', S3_ROOT,
                         str(data_dir), str(metadata_path)], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=900, check=False)
  assert done.returncode == 0, done.stderr[-3000:]
  from tfx_hypertune.hypertune import results
  return results.latest_run(str(metadata_path))


@pytest.fixture(scope='module')
def launched(tmp_path_factory):
  work = tmp_path_factory.mktemp('kfp-oss')
  first_rows = _digits_folder(work / 'rows-0-900', range(0, 900))
  new_rows = _digits_folder(work / 'rows-900-1797', range(900, 1797))
  from tfx_hypertune.hypertune import cli
  # The bundled data and the default budget are compiled in; the run overrides both.
  assert cli.main(['compile', '--target', 'kfp', '--pipeline-root', ROOT,
                   '--set', 'search.parallel_trials=2', '--set', 'search.trials_on=beam',
                   '--out', str(work / 'compiled-beam')]) == 0
  spec_path = str(work / 'compiled-beam' / 'hypertune-digits.yaml')
  from tfx_hypertune.kubeflow import launcher
  with helpers.moto_s3_server(BUCKET) as (env, client):
    first = _seed_run(env, first_rows, work / 'first-run.sqlite')
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
    line = next(text for text in f if text.startswith('[hypertune entrypoint]'))
  return json.loads(line.split(']', 1)[1])


def _first_uri(launched, node, key):
  """An output URI of the first (LocalDagRunner) run."""
  return launched['first'][node].uri(key)


def test_every_task_ran_as_the_open_source_backend_runs_it(launched):
  second = launched['second']
  assert second.backend == 'kfp'
  assert set(second.seconds) == {'CsvExampleGen', 'StatisticsGen', 'ImportSchemaGen',
                                 'ExampleValidator', 'SchemaGate', 'Transform', 'Tuner',
                                 'Trainer', 'Evaluator', 'Pusher'}
  # The entrypoint restored the empty input types, mapped minio:// and ran ExampleGen's
  # driver itself (the backend runs no preCacheCheck).
  example_gen = _entrypoint_report(second, 'CsvExampleGen')
  assert example_gen['driver'] is True and example_gen['minio'] is True
  trainer = _entrypoint_report(second, 'Trainer')
  assert trainer['restored_types'] == 3 and trainer['driver'] is False
  # The driver's fingerprint is of the file the run was given (a runtime parameter).
  size = os.path.getsize(launched['work'] / 'rows-900-1797' / 'digits.csv')
  assert f'total_bytes:{size}' in _only(second, 'CsvExampleGen', 'examples').metadata[
      'input_fingerprint']
  # The budget of the run: the runtime parameter, not the compiled 10.
  budget = json.loads(launched['read'](_only(second, 'Tuner', 'best_hyperparameters').uri
                                       + '/best_hyperparameters.txt'))['search_budget']
  assert budget['max_epochs'] == 2


def test_every_artifact_is_in_the_object_store(launched):
  keys = launched['keys']
  second = launched['second']
  for task, outputs in second.outputs.items():
    for key, (artifact,) in outputs.items():
      assert artifact.uri.startswith(f'{ROOT}/'), (task, key, artifact.uri)
      if task != 'Pusher':  # the pushed model is under serving/ (below)
        assert any(k.startswith(_key(artifact.uri) + '/') for k in keys), (task, key)
  for node, run in launched['first'].items():
    for key, artifacts in run.outputs.items():
      for artifact in artifacts:
        assert artifact.uri.startswith(f'{S3_ROOT}/'), (node, key, artifact.uri)
  # A stray os.makedirs('minio://...') in a task would leave a folder in its working dir.
  assert not [p for p in glob.glob(os.path.join(second.log_dir, '**'), recursive=True)
              if os.path.basename(p) in ('minio:', 's3:')]
  # The search state and the report are in the bucket too: one trial_stats.json per trial
  # of both searches, each worker's log, trials.csv with a row per trial.
  infos = [_first_search_info(launched), _search_info(launched, second)]
  trial_stats = [k for k in keys if k.startswith(_key(ROOT) + '/Tuner/TunerState/')
                 and k.endswith('/trial_stats.json')]
  assert len(trial_stats) == sum(info['trials_completed'] for info in infos)
  assert any(k.endswith('/tuner1.log') for k in keys)
  results_uri = _first_uri(launched, 'Tuner', 'tuner_results')
  for name in ('trials.csv', 'report.html', 'objective_by_trial.png', 'tuner_results.json'):
    assert f'{_key(results_uri)}/{name}' in keys, name
  csv_rows = launched['read'](f'{results_uri}/trials.csv').strip().splitlines()
  assert len(csv_rows) == 1 + infos[0]['trials_completed']


def _search_info(launched, result):
  return json.loads(launched['read'](_only(result, 'Tuner', 'tuner_results').uri
                                     + '/search_info.json'))


def _first_search_info(launched):
  return json.loads(launched['read'](_first_uri(launched, 'Tuner', 'tuner_results')
                                     + '/search_info.json'))


def test_run_one_searched_in_parallel_and_pushed_into_the_bucket(launched):
  read = launched['read']
  info = _first_search_info(launched)
  assert info['parallel_trials'] == 2 and info['worker_failures'] == []
  assert _key(info['search_state_dir']).startswith(_key(ROOT) + '/Tuner/TunerState/')
  assert info['trials_completed'] >= 2
  assert info['tuning_decision'] == 'searching'  # tuning: always (the default)
  budget = json.loads(read(_first_uri(launched, 'Tuner', 'best_hyperparameters')
                           + '/best_hyperparameters.txt'))['search_budget']
  assert budget['max_epochs'] == 2  # the run's value, not the compiled 10
  evaluator, pusher = launched['first']['Evaluator'], launched['first']['Pusher']
  assert evaluator.custom('blessing', 'blessed') == 1
  rule = evaluator.custom('blessing', 'blessing_rule')
  assert 'accuracy' in rule and 'no earlier blessed model' in rule
  assert pusher.custom('pushed_model', 'pushed') == 1
  destination = pusher.custom('pushed_model', 'pushed_destination')
  assert destination.startswith(f'{S3_ROOT}/serving/')
  assert _key(destination) + '/saved_model.pb' in launched['keys']


def test_run_two_warm_started_from_run_ones_search_in_the_bucket(launched):
  before, info = _first_search_info(launched), _search_info(launched, launched['second'])
  assert info['resumed'] is False  # other rows: another search of the same settings
  assert _key(info['search_state_dir']) != _key(before['search_state_dir'])
  carried = info['carried_over']
  assert carried and len(carried) <= 3
  assert {c['from_search'] for c in carried} == {before['search_state_dir'].rsplit('/', 1)[-1]}
  # The carried configurations are run 1's best, read back from its trials in the bucket.
  ranked = json.loads(launched['read'](_first_uri(launched, 'Tuner', 'tuner_results')
                                       + '/tuner_results.json'))
  best_values = {k: v for k, v in ranked[0].items()
                 if k not in ('trial_id', 'score') and not k.startswith('tuner/')}
  assert carried[0]['values'] == best_values


def test_run_two_ran_its_trials_on_beam_against_the_bucket(launched):
  """Run 2's spec has the Tuner's trials on Beam: one Beam job of two slots, whose trial
  processes read and wrote the search state, and exchanged assignments and results with the
  Tuner, in the bucket."""
  from tfx_hypertune.components.tuner import brackets
  info = _search_info(launched, launched['second'])
  assert info['trials_on'] == 'beam' and info['beam']['runner'] == 'DirectRunner'
  assert info['trials_completed'] == brackets.hyperband_trials(2, 3)  # max_epochs=2
  assert info['beam']['job_attempts'] == 1 and info['beam']['slots'] == 2
  # The Tuner's own arguments came after the pipeline's (the entrypoint adds S3 settings).
  args = info['beam']['beam_pipeline_args']
  assert args.index('--direct_num_workers=2') > args.index('--direct_num_workers=1')
  exchange = _key(info['beam']['exchange'])
  results = [k for k in launched['keys']
             if re.fullmatch(re.escape(exchange) + r'/slot-\d+/result-\d+\.json', k)]
  assert len(results) == info['trials_completed']
  project = _key(info['tuner_project_dir'])
  stats = [json.loads(launched['read'](f'minio://{BUCKET}/{k}')) for k in launched['keys']
           if re.fullmatch(re.escape(project) + r'/trial_\w+/trial_stats\.json', k)]
  assert len(stats) == info['trials_completed']
  assert {s['slot'] for s in stats} == {0, 1}  # both slots ran trials
  assert len({s['beam_worker'] for s in stats}) == 2  # on two worker processes


def test_run_two_was_compared_with_run_ones_pushed_model(launched):
  second, read = launched['second'], launched['read']
  first_push = launched['first']['Pusher'].custom('pushed_model', 'pushed_destination')
  evaluation = _only(second, 'Evaluator', 'evaluation').uri
  baseline = json.loads(read(evaluation + '/baseline.json'))
  assert _key(baseline['baseline_model']) == _key(first_push)
  blessing = _only(second, 'Evaluator', 'blessing').metadata
  assert _key(blessing['baseline_model_uri']) == _key(first_push)
  assert blessing['baseline_model_uri'].startswith('minio://')  # as the backend gave it
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
