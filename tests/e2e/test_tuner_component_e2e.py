"""Our Tuner component in the real pipeline: parallel workers, one killed. (Every algorithm
through the executor: test_algorithms_e2e.py; resume and warm start: test_interrupts_e2e.py; a
bucket root: test_kubeflow_launcher_e2e.py.)"""

import csv
import glob
import json
import os
import signal
import threading
import time

import pytest

from tfx_hypertune.components.tuner import files
from tfx_hypertune.hypertune import cli, results

pytestmark = pytest.mark.e2e


def _search_info(run_dir):
  tuner = results.latest_run(os.path.join(run_dir, 'metadata.sqlite'))['Tuner']
  with open(os.path.join(tuner.uri('tuner_results'), files.SEARCH_INFO_FILE)) as f:
    return json.load(f), tuner.uri('tuner_results')


def _worker_pid(state_root, tuner_id):
  """The worker's pid, from the search's worker_pids.json (files.WORKER_PIDS_FILE)."""
  for path in glob.glob(os.path.join(state_root, '*', files.WORKER_PIDS_FILE)):
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
      os.path.join(run_dir, 'pipeline_root', 'Tuner', 'TunerState'), 'tuner1', killed))
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
          'objective_by_trial.png'} <= set(os.listdir(results_dir))
  summary = results.summarize(os.path.join(parallel_run['run_dir'], 'metadata.sqlite'),
                              os.path.join(parallel_run['run_dir'], 'pipeline_root'))
  assert summary.pushed_to and summary.accuracy >= 0.9
