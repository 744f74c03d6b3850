"""Our Tuner component in the real pipeline: parallel workers (one killed), and every algorithm
through the executor. (Resume and warm start: test_interrupts_e2e.py; a bucket root:
test_kubeflow_launcher_e2e.py.)"""

import csv
import glob
import json
import os
import signal
import threading
import time

import pytest
from tfx.types import standard_artifacts
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import executor as tuner_executor
from tfx_hypertune.components.tuner import parallel, search, spec
from tfx_hypertune.hypertune import cli, results
from tests.e2e import helpers

pytestmark = pytest.mark.e2e


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
