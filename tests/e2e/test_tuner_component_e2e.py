"""Our Tuner component in the real pipeline: parallel workers (one killed), every algorithm
through the executor, and the whole pipeline on a bucket root. (Resume and warm start:
test_interrupts_e2e.py.)"""

import csv
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from tfx.types import standard_artifacts
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import executor as tuner_executor
from tfx_hypertune.components.tuner import parallel, search, spec
from tfx_hypertune.hypertune import cli, results
from tests.conftest import DIGITS_DIR, REPO, read_digits_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

BUDGET = ['--max-epochs', '3', '--seed', '3']


def _digits_folder(path, rows_limit):
  header, rows = read_digits_rows(rows_limit)
  write_csv(path / 'digits.csv', header, rows)
  shutil.copy(os.path.join(DIGITS_DIR, 'schema.pbtxt'), path / 'schema.pbtxt')
  return path


def _search_info(run_dir):
  tuner = results.latest_run(os.path.join(run_dir, 'metadata.sqlite'))['Tuner']
  with open(os.path.join(tuner.uri('tuner_results'), spec.SEARCH_INFO_FILE)) as f:
    return json.load(f), tuner.uri('tuner_results')


def _worker_pid(state_root, tuner_id):
  """The worker's pid, from the search's worker_pids.json (parallel.WORKER_PIDS_FILE)."""
  for path in glob.glob(os.path.join(state_root, '*', parallel.WORKER_PIDS_FILE)):
    with open(path) as f:
      return json.load(f).get(tuner_id)
  return None


def _forked_from_warm_pool(pid):
  """True if the process's parent is multiprocessing's fork server, not the pipeline."""
  with open(f'/proc/{pid}/stat') as f:
    parent = int(f.read().rsplit(')', 1)[1].split()[1])
  with open(f'/proc/{parent}/cmdline', 'rb') as f:
    return parent != os.getpid() and b'multiprocessing.forkserver' in f.read()


def _kill_worker_after_its_first_trial(state_root, tuner_id, killed):
  deadline = time.monotonic() + 400
  while time.monotonic() < deadline:
    for stats in glob.glob(os.path.join(state_root, '*', 'trials', 'trial_*',
                                        'trial_stats.json')):
      try:
        with open(stats) as f:
          if json.load(f).get('tuner_id') == tuner_id:
            pid = _worker_pid(state_root, tuner_id)
            killed.append({'pid': pid, 'from_warm_pool': _forked_from_warm_pool(pid)})
            os.kill(pid, signal.SIGKILL)
            return
      except (OSError, ValueError, TypeError):
        pass
    time.sleep(0.2)


@pytest.fixture(scope='module')
def parallel_run(tmp_path_factory):
  root = tmp_path_factory.mktemp('parallel')
  run_dir = str(root / 'hypertune-digits')
  killed = []
  killer = threading.Thread(target=_kill_worker_after_its_first_trial, daemon=True, args=(
      os.path.join(run_dir, 'pipeline_root', 'TunerState'), 'tuner1', killed))
  killer.start()
  code = cli.main(['run', '--output-dir', str(root), '--set', 'search.parallel_trials=2',
                   '--max-epochs', '3', '--seed', '5'])
  killer.join(timeout=5)
  return {'code': code, 'run_dir': run_dir, 'killed': killed}


def test_parallel_workers_survive_a_killed_worker(parallel_run):
  assert parallel_run['code'] == 0
  assert parallel_run['killed'], 'the test never found worker tuner1 to kill'
  # The worker was forked from the warm pool that `hypertune run` started, and it ran trials.
  assert parallel_run['killed'][0]['from_warm_pool']
  info, results_dir = _search_info(parallel_run['run_dir'])
  assert info['parallel_trials'] == 2
  assert len(info['worker_failures']) == 1 and 'worker tuner1 exited' in info[
      'worker_failures'][0]
  with open(os.path.join(results_dir, 'trials.csv')) as f:
    rows = list(csv.DictReader(f))
  completed = [r for r in rows if r['status'] == 'COMPLETED']
  assert {'tuner0', 'tuner1'} <= {r['tuner_id'] for r in completed}
  assert len(completed) >= 4
  # Same outputs as a serial search.
  assert {'trials.csv', 'report.html', 'tuner_results.json', 'search', 'tensorboard',
          'accuracy_by_trial.png'} <= set(os.listdir(results_dir))
  summary = results.summarize(os.path.join(parallel_run['run_dir'], 'metadata.sqlite'),
                              os.path.join(parallel_run['run_dir'], 'pipeline_root'))
  assert summary.pushed_to and summary.accuracy >= 0.9


@pytest.mark.parametrize('algorithm', ['random', 'bayesian', 'grid', 'hyperband',
                                       'hyperband_longest_first'])
def test_each_algorithm_through_the_executor(parallel_run, tmp_path, algorithm):
  """The executor alone, on the parallel run's transformed data, with a tiny budget."""
  nodes = results.latest_run(os.path.join(parallel_run['run_dir'], 'metadata.sqlite'))
  transform = nodes['Transform']

  artifact = helpers.make_artifact
  input_dict = {
      'examples': [artifact(standard_artifacts.Examples,
                            transform.uri('transformed_examples'), '["train", "eval"]')],
      'transform_graph': [artifact(standard_artifacts.TransformGraph,
                                   transform.uri('transform_graph'))],
  }
  output_dict = {
      'best_hyperparameters': [artifact(standard_artifacts.HyperParameters,
                                        str(tmp_path / 'hp'))],
      'tuner_results': [artifact(standard_artifacts.TunerResults, str(tmp_path / 'results'))],
  }
  from tfx_hypertune.pipeline import config as config_lib
  from tfx_hypertune.pipeline.pipeline import user_function_config
  config = config_lib.build_config({'search': {
      'algorithm': algorithm, 'max_trials': 2, 'max_epochs': 2, 'factor': 2,
      'space': {'num_layers': 1, 'units': {'kind': 'choice', 'values': [16, 32]},
                'dropout': 0.0}}})
  custom = user_function_config(config, 'test')
  exec_properties = {
      'tuner_fn': 'tfx_hypertune.model.tuner_fn.tuner_fn',
      'train_args': json.dumps({'splits': ['train']}),
      'eval_args': json.dumps({'splits': ['eval']}),
      'custom_config': json_utils.dumps(custom),
  }
  tuner_executor.Executor().Do(input_dict, output_dict, exec_properties)
  with open(tmp_path / 'hp' / 'best_hyperparameters.txt') as f:
    best = json.load(f)['values']
  assert best['units_0'] in (16, 32) and best['num_layers'] == 1
  with open(tmp_path / 'results' / 'trials.csv') as f:
    rows = list(csv.DictReader(f))
  # Hyperband sizes itself: max_epochs 2, factor 2 -> brackets of 2+1 and 2 trials.
  expected = search.planned_trials(custom['search'])
  assert expected == {'random': 2, 'bayesian': 2, 'grid': 2, 'hyperband': 5,
                      'hyperband_longest_first': 5}[algorithm]
  assert len([r for r in rows if r['status'] == 'COMPLETED']) == expected
  if algorithm.startswith('hyperband'):
    # Keras Tuner's order starts with the aggressive bracket (1: two 1-epoch trials, the best
    # resumed to 2); longest-first starts with bracket 0, full-length trials.
    first = min(rows, key=lambda r: r['trial_id'])
    assert (first['bracket'], first['epochs_run']) == (
        ('1', '1') if algorithm == 'hyperband' else ('0', '2'))
    promoted = [r for r in rows if r['initial_epoch'] not in ('0', '')]
    assert len(promoted) == 1 and promoted[0]['bracket'] == '1'


@pytest.fixture
def s3_bucket():
  with helpers.moto_s3_server() as server:
    yield server


def test_whole_pipeline_on_a_bucket_root(s3_bucket, tmp_path):
  """The pipeline with its root and push destination in an S3 bucket (moto on 127.0.0.1),
  parallel trials and the report included; then a second search of other data in the same
  bucket warm-starts from the first. Nothing may go through os/open on the root (which would
  fail, or quietly write a local folder named 's3:'), and every artifact must be in the
  bucket."""
  env, client = s3_bucket
  data_dir = _digits_folder(tmp_path / 'digits', 900)
  done = subprocess.run(
      [sys.executable, '-m', 'tests.s3.run_pipeline_on_bucket', 's3://mlpipeline',
       str(data_dir), str(tmp_path / 'runs')],
      cwd=tmp_path, env={**env, 'PYTHONPATH': REPO}, capture_output=True, text=True,
      timeout=900, check=False)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
  report = json.loads(done.stdout.strip().splitlines()[-1])
  first, again = report['pipeline'], report['again']
  assert first['parallel_trials'] == 2 and first['worker_failures'] == []
  assert first['trials_completed'] == 6  # Hyperband, max_epochs 3: the plan's 6 trials
  assert first['search_state_dir'].startswith('s3://mlpipeline/root/TunerState/')
  assert again['carried_over'] and again['carried_over'][0]['from_search'] == (
      first['search_state_dir'].rsplit('/', 1)[-1])
  # Every artifact of every component is in the bucket.
  for node, outputs in report['uris'].items():
    for key, uris in outputs.items():
      assert all(uri.startswith('s3://mlpipeline/root/') for uri in uris), (node, key, uris)
  assert report['pushed'].startswith('s3://mlpipeline/serving/')
  keys = helpers.bucket_keys(client)
  results_prefix = report['uris']['Tuner']['tuner_results'][0][len('s3://mlpipeline/'):]
  assert {f'{results_prefix}/{name}' for name in (
      'trials.csv', 'report.html', 'accuracy_by_trial.png', 'search_info.json',
      'tuner_results.json')} <= keys
  pushed_prefix = report['pushed'][len('s3://mlpipeline/'):]
  assert f'{pushed_prefix}/saved_model.pb' in keys
  assert any(k.endswith('/tuner1.log') for k in keys)  # worker logs land in the bucket
  trial_stats = [k for k in keys if k.startswith('root/TunerState/')
                 and k.endswith('trial_stats.json')]
  assert len(trial_stats) == 6 + again['trials_completed']
  csv_text = client.get_object(Bucket='mlpipeline', Key=f'{results_prefix}/trials.csv')[
      'Body'].read().decode()
  assert len(csv_text.strip().splitlines()) == 1 + 6
  assert not list(tmp_path.glob('s3:*')), 'something wrote a local folder named s3:'
