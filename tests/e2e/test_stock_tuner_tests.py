"""TFX's own Tuner tests, imported from the installed tfx (not copied), run against our Tuner.

`tfx/components/tuner/executor_test.py` and `component_test.py` construct
`executor.Executor` and `component.Tuner` through their modules; an autouse fixture puts ours
there for the length of each test. Every stock test passes as it is but one: `testTuneArgs`
asserts the stock executor's ValueError for TuneArgs ("not supported"), which is the stock
limit our Tuner lifts, so it is overridden here by a test of our behaviour on the same fixture:
TuneArgs(num_parallel_trials=2) runs two workers.
"""

import csv
import json
import os
import subprocess
import sys

import pytest
from tfx.components.tuner import component as stock_component_module
from tfx.components.tuner import component_test as stock_component_test
from tfx.components.tuner import executor as stock_executor_module
from tfx.components.tuner import executor_test as stock_executor_test
from tfx.proto import tuner_pb2
from tfx.utils import proto_utils

import tfx_hypertune
from tfx_hypertune.components.tuner import files
from tests.e2e import helpers

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def our_tuner_in_place_of_the_stock_one(monkeypatch):
  monkeypatch.setattr(stock_executor_module, 'Executor',
                      tfx_hypertune.Tuner.EXECUTOR_SPEC.executor_class)
  monkeypatch.setattr(stock_component_module, 'Tuner', tfx_hypertune.Tuner)


class TestStockTunerExecutorTests(stock_executor_test.ExecutorTest):
  """The stock executor tests, as they are, on our executor."""

  def _results(self):
    results_dir = self._tuner_results.uri
    with open(os.path.join(results_dir, files.TRIALS_CSV)) as f:
      rows = list(csv.DictReader(f))
    return files.read_json(os.path.join(results_dir, files.SEARCH_INFO_FILE)), rows

  def testTuneArgs(self):  # the stock test's name: replaced
    """TuneArgs(num_parallel_trials=2) on the stock fixture: two workers ran the stock
    RandomSearch's 3 trials, and the stock outputs are as the stock test wants them."""
    self._exec_properties['module_file'] = os.path.join(
        self._testdata_dir, 'module_file', 'tuner_module.py')
    self._exec_properties['tune_args'] = proto_utils.proto_to_json(
        tuner_pb2.TuneArgs(num_parallel_trials=2))
    stock_executor_module.Executor(self._context).Do(
        input_dict=self._input_dict, output_dict=self._output_dict,
        exec_properties=self._exec_properties)
    self._verify_output()
    info, rows = self._results()
    assert info['parallel_trials'] == 2 and info['worker_failures'] == []
    completed = [r for r in rows if r['status'] == 'COMPLETED']
    assert len(completed) == 3
    assert {r['tuner_id'] for r in completed} == {'tuner0', 'tuner1'}

  def test_report_for_a_stock_tuner_fn(self):
    """The stock tuner_fn's RandomSearch, searched serially: its objective
    (val_sparse_categorical_accuracy, not one of ours) ranks the report, its trials carry
    sizes and epoch times, and the search state outlives the execution."""
    self._exec_properties['tuner_fn'] = (
        'tfx.components.testdata.module_file.tuner_module.tuner_fn')
    stock_executor_module.Executor(self._context).Do(
        input_dict=self._input_dict, output_dict=self._output_dict,
        exec_properties=self._exec_properties)
    info, rows = self._results()
    assert info['objective'] == 'val_sparse_categorical_accuracy'
    assert info['direction'] == 'max' and info['resumed'] is False
    assert info['search_state_dir'].startswith(
        os.path.join(os.path.dirname(os.path.dirname(self._tuner_results.uri)), 'TunerState'))
    assert info['tuner_project_dir'].endswith('/test')  # the tuner_fn's own project_name
    completed = [r for r in rows if r['status'] == 'COMPLETED']
    assert len(completed) == 3
    for row in completed:
      # 4 inputs -> num_layers Dense(8) -> Dense(3): (4*8+8) + (num_layers-1)*(8*8+8) + 27.
      layers = int(row['num_layers'])
      assert int(row['trainable_parameters']) == 40 + (layers - 1) * 72 + 27
      assert float(row['seconds_per_epoch']) > 0
      assert row['val_sparse_categorical_accuracy'] not in ('', None)
    # Only what this tuner_fn's trials recorded and searched: no metric or knob of our model.
    metrics = [c for c in rows[0] if c.startswith('val_')]
    assert metrics == ['val_sparse_categorical_accuracy', 'val_loss']
    assert not {'units_0', 'dropout', 'hidden_units'} & set(rows[0])
    with open(os.path.join(self._tuner_results.uri, files.REPORT_HTML)) as f:
      page = f.read()
    assert 'val_sparse_categorical_accuracy' in page and 'learning_rate' in page
    assert 'hidden units' not in page and 'balanced' not in page
    assert os.path.getsize(os.path.join(self._tuner_results.uri,
                                        'hyperparameter_effects.png')) > 10_000
    with open(os.path.join(self._best_hparams.uri, 'best_hyperparameters.txt')) as f:
      best = json.load(f)
    best_row = helpers.best_row(completed)
    assert best['values']['num_layers'] == int(best_row['num_layers'])


class TestStockTunerComponentTests(stock_component_test.TunerTest):
  """The stock component tests, as they are, on our component."""


def test_parallel_trials_in_a_process_that_has_run_tensorflow(tmp_path):
  """Two searches with TuneArgs(num_parallel_trials=2), one after the other, in one process
  whose script ran TensorFlow at import: every trial of both completes (the workers, forked
  from a warm pool that has TensorFlow initialised, cannot set their thread counts and go on
  without)."""
  script = os.path.join(os.path.dirname(__file__), 'two_parallel_searches.py')
  done = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True,
                        text=True, timeout=600, cwd=os.path.dirname(os.path.dirname(
                            os.path.dirname(script))))
  assert done.returncode == 0, done.stderr[-3000:]
  searches = [json.loads(line.split(' ', 1)[1]) for line in done.stdout.splitlines()
              if line.startswith('SEARCH ')]
  assert [s['run'] for s in searches] == ['first', 'second']
  for search in searches:
    assert search['trials_completed'] == 3  # the stock module's RandomSearch(max_trials=3)
    assert search['failed_trials'] == [] and search['worker_failures'] == []
