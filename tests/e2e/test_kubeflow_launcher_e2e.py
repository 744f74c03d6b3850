"""The compiled Kubeflow pipeline, executed: `hypertune compile`, then `hypertune launch`
runs each task's container command from the spec as a subprocess, as the KFP v2 launcher
would, with runtime parameters set at launch. It ends with a pushed model. (No cluster and no
image: the same commands with this interpreter. See kubeflow/README.md.)"""

import glob
import json
import os
import shutil

import pytest

from tests.conftest import DIGITS_DIR, read_digits_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope='module')
def launched(tmp_path_factory):
  root = tmp_path_factory.mktemp('kfp-local')
  small_data = root / 'small-digits'
  header, rows = read_digits_rows(900)
  write_csv(small_data / 'digits.csv', header, rows)
  shutil.copy(os.path.join(DIGITS_DIR, 'schema.pbtxt'), small_data / 'schema.pbtxt')
  from hypertune import cli
  # Compiled with the bundled data and the default budget; the run overrides both.
  assert cli.main(['compile', '--pipeline-root', str(root / 'pipeline_root'),
                   '--out', str(root / 'compiled')]) == 0
  job = str(root / 'compiled' / 'hypertune-digits.json')
  from kubeflow import launcher
  result = launcher.launch(job, parameters={
      'data_uri': str(small_data), 'max_epochs': '2', 'accuracy_threshold': '0.5'})
  return {'root': root, 'result': result, 'small_data': small_data}


def _only(result, task, key):
  (artifact,) = result.outputs[task][key]
  return artifact


def test_every_task_ran_and_the_model_was_pushed(launched):
  result = launched['result']
  assert set(result.seconds) >= {'CsvExampleGen', 'StatisticsGen', 'ImportSchemaGen',
                                 'ExampleValidator', 'SchemaGate', 'Transform', 'Tuner',
                                 'Trainer', 'Evaluator', 'Pusher'}
  blessing = _only(result, 'Evaluator', 'blessing')
  assert blessing.metadata['blessed'] == 1
  assert blessing.metadata['current_model_id'] == _only(result, 'Trainer', 'model').name
  pushed = _only(result, 'Pusher', 'pushed_model').metadata
  assert pushed['pushed'] == 1
  destination = pushed['pushed_destination']
  assert destination.startswith(str(launched['root'] / 'pipeline_root' / 'serving'))
  assert os.path.isfile(os.path.join(destination, 'saved_model.pb'))


def test_runtime_parameters_reached_the_tasks(launched):
  result = launched['result']
  # data_uri: ExampleGen's driver fingerprinted the small file, not the bundled one.
  small_bytes = os.path.getsize(launched['small_data'] / 'digits.csv')
  assert f'total_bytes:{small_bytes}' in _only(
      result, 'CsvExampleGen', 'examples').metadata['input_fingerprint']
  # max_epochs=2: no Hyperband trial trained more than 2 epochs.
  results_dir = _only(result, 'Tuner', 'tuner_results').uri
  trials = glob.glob(os.path.join(results_dir, 'search', '*', 'trial_*', 'trial.json'))
  assert trials
  epochs = [json.load(open(t))['hyperparameters']['values']['tuner/epochs'] for t in trials]
  assert max(epochs) == 2
  # ... and the Trainer trained within the budget the Tuner really used, not the compiled 10.
  hp_uri = _only(result, 'Tuner', 'best_hyperparameters').uri
  with open(os.path.join(hp_uri, 'best_hyperparameters.txt')) as f:
    assert json.load(f)['search_budget']['max_epochs'] == 2
  with open(os.path.join(_only(result, 'Trainer', 'model_run').uri,
                         'training_summary.json')) as f:
    summary = json.load(f)
  assert summary['max_epochs'] <= 2 and 1 <= summary['epochs_run'] <= 2
  # accuracy_threshold=0.5 (a floor; none compiled in) is what the Evaluator required: it is
  # above the majority-class rule on digits (about 0.19).
  with open(os.path.join(result.run_dir, 'Evaluator', 'executor.log')) as f:
    assert 'accuracy to reach: 0.5000' in f.read()


def test_the_pushed_model_serves(launched):
  destination = _only(launched['result'], 'Pusher', 'pushed_model').metadata['pushed_destination']
  examples = helpers.split_examples_at(_only(launched['result'], 'CsvExampleGen', 'examples').uri,
                                       'test')
  assert helpers.serve_accuracy(destination, examples, 'label') >= 0.8
