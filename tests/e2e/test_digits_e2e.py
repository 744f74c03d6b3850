"""The whole pipeline with LocalDagRunner on the bundled digits data, small budget.

One module-scoped run is shared by the checks below; a second run with nothing changed must
be fully cached, and a third run elsewhere with the same seed must give the same result.
"""

import json
import os

import pytest

from tfx_hypertune.model import search_config
from tfx_hypertune.hypertune import results
from tests.conftest import DIGITS_CSV
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

BUDGET = ['--max-epochs', '3', '--factor', '3', '--seed', '7']
ACCURACY_FLOOR = 0.9


@pytest.fixture(scope='module')
def first_run(tmp_path_factory):
  output_dir = tmp_path_factory.mktemp('digits')
  from tfx_hypertune.hypertune import cli
  code = cli.main(['run', '--output-dir', str(output_dir), *BUDGET])
  assert code == 0
  run_dir = os.path.join(output_dir, 'hypertune-digits')
  return {
      'output_dir': str(output_dir),
      'run_dir': run_dir,
      'metadata': os.path.join(run_dir, 'metadata.sqlite'),
      'pipeline_root': os.path.join(run_dir, 'pipeline_root'),
      'serving': os.path.join(run_dir, 'serving'),
      'summary': results.summarize(os.path.join(run_dir, 'metadata.sqlite'),
                                   os.path.join(run_dir, 'pipeline_root')),
      'states': helpers.node_states(os.path.join(run_dir, 'metadata.sqlite')),
  }


def test_every_component_ran(first_run):
  assert first_run['states'] == {node: 'COMPLETE' for node in [
      'CsvExampleGen', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator', 'SchemaGate',
      'Transform', 'Tuner', 'Trainer', 'Evaluator', 'Pusher']}


def test_pushed_model_scores_held_out_rows(first_run):
  versions = helpers.serving_versions(first_run['serving'])
  assert len(versions) == 1
  model_dir = os.path.join(first_run['serving'], versions[0])
  held_out = helpers.split_examples(first_run['pipeline_root'], 'test')
  assert 200 < len(held_out) < 400  # ~15% of 1,797 rows
  accuracy = helpers.serve_accuracy(model_dir, held_out, 'label')
  assert accuracy >= ACCURACY_FLOOR
  # TFMA's figure is the same computation over the same rows.
  assert first_run['summary'].accuracy == pytest.approx(accuracy, abs=1e-6)
  assert first_run['summary'].blessed


def test_tuned_widths_reach_the_trained_model(first_run):
  best = first_run['summary'].best_hyperparameters
  widths = [best[f'units_{i}'] for i in range(best['num_layers'])]
  model_dir = first_run['summary'].pushed_to
  assert helpers.saved_model_hidden_widths(model_dir) == widths


def test_trial_count_follows_the_hyperband_plan(first_run):
  assert first_run['summary'].trials == search_config.planned_trials(
      {'algorithm': 'hyperband', 'max_epochs': 3, 'factor': 3, 'hyperband_iterations': 1,
       'max_trials': None}) == 6
  trials_csv = os.path.join(first_run['summary'].trials_dir, 'trials.csv')
  with open(trials_csv) as f:
    assert len(f.read().strip().splitlines()) == 1 + 6


def test_second_run_is_fully_cached(first_run, capsys):
  code, out, _ = helpers.run_cli(capsys, 'run', '--output-dir', first_run['output_dir'], *BUDGET)
  assert code == 0
  states = helpers.node_states(first_run['metadata'])
  assert {n for n, s in states.items() if s != 'CACHED'} == set(), states
  assert 'Tuner reused from cache' in out
  assert 'orchestrator: LocalDagRunner' in out  # logged by the runner that ran the nodes
  assert len(helpers.serving_versions(first_run['serving'])) == 1


def test_same_seed_same_result(first_run, tmp_path, capsys):
  code, out, _ = helpers.run_cli(capsys, 'run', '--output-dir', str(tmp_path), *BUDGET)
  assert code == 0
  # Progress: component names, trial N of M, elapsed seconds; then the summary.
  assert 'Transform done' in out and 'trial 6 of ~6' in out
  assert 'test accuracy:' in out and 'pushed model:' in out
  run_dir = tmp_path / 'hypertune-digits'
  again = results.summarize(str(run_dir / 'metadata.sqlite'), str(run_dir / 'pipeline_root'))
  assert again.best_hyperparameters == first_run['summary'].best_hyperparameters
  assert again.accuracy == first_run['summary'].accuracy


def test_predict_command_scores_csv_rows(first_run, tmp_path, capsys):
  out_file = tmp_path / 'predictions.csv'
  code, out, _ = helpers.run_cli(capsys, 'predict', '--model', first_run['serving'],
                                 '--data', DIGITS_CSV, '--output', str(out_file))
  assert code == 0
  lines = out_file.read_text().splitlines()
  assert lines[0] == 'predicted_label,probability' and len(lines) == 1 + 1797
  label, probability = lines[1].split(',')
  assert label in [str(i) for i in range(10)] and 0 < float(probability) <= 1
  accuracy = float(out.strip().split()[-1])
  assert out.startswith('accuracy:') and accuracy >= ACCURACY_FLOOR


def test_report_lists_trials(first_run, capsys):
  code, out, _ = helpers.run_cli(capsys, 'report', first_run['run_dir'], '--top', '3')
  assert code == 0
  header, *rows = out.strip().split('\n\n')[0].splitlines()
  assert header.split()[:3] == ['trial_id', 'score', 'val_accuracy'] and len(rows) == 3
  assert '6 trials' in out
  assert out.strip().splitlines()[-1].endswith('/report.html')
  with open(os.path.join(first_run['summary'].trials_dir, 'tuner_results.json')) as f:
    scores = [t['score'] for t in json.load(f)]
  assert float(rows[0].split()[1]) == pytest.approx(max(scores), abs=1e-4)


def test_report_numbers_equal_the_trial_files(first_run):
  import csv
  import glob
  import matplotlib.image
  from tfx_hypertune.components.tuner import report
  results_dir = first_run['summary'].trials_dir
  with open(os.path.join(results_dir, 'trials.csv')) as f:
    rows = {r['trial_id']: r for r in csv.DictReader(f)}
  trial_dirs = glob.glob(os.path.join(results_dir, 'search', 'trials', 'trial_*'))
  assert len(trial_dirs) == len(rows) == 6
  for trial_dir in trial_dirs:
    with open(os.path.join(trial_dir, 'trial.json')) as f:
      trial = json.load(f)
    with open(os.path.join(trial_dir, 'trial_stats.json')) as f:
      stats = json.load(f)
    row = rows[trial['trial_id']]
    assert float(row['score']) == pytest.approx(trial['score'], abs=1e-12)
    assert int(row['epochs_run']) == len(stats['epoch_seconds']) >= 1
    assert float(row['seconds_per_epoch']) == pytest.approx(
        sum(stats['epoch_seconds']) / len(stats['epoch_seconds']))
    assert int(row['trainable_parameters']) == stats['trainable_parameters']
    values = trial['hyperparameters']['values']
    assert row['units_0'] == str(values['units_0'])
    # Only the widths of the layers the trial had (Keras Tuner's conditional scopes).
    widths = [values[f'units_{i}'] for i in range(values['num_layers'])]
    # The parameters of that network on digits' 64 columns and 10 classes.
    sizes = [64, *widths, 10]
    assert int(row['trainable_parameters']) == sum(
        (a + 1) * b for a, b in zip(sizes, sizes[1:]))
    assert all(row.get(f'units_{i}', '') == '' for i in range(values['num_layers'], 3))
  for name in report.PLOTS:
    path = os.path.join(results_dir, name)
    with open(path, 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    height, width, _ = matplotlib.image.imread(path).shape
    assert height >= 300 and width >= 500
  with open(os.path.join(results_dir, 'report.html')) as f:
    page = f.read()
  assert all(f'src="{name}"' in page for name in report.PLOTS)
  events = glob.glob(os.path.join(results_dir, 'tensorboard', 'trial_*', 'events.out.*'))
  assert len(events) == 6
