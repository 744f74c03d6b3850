"""Scheduled runs, locally (LocalDagRunner): data arrives as span folders, each run trains on
the newest spans, and with `tuning: never` a later run reuses the first run's best
hyperparameters, which its Tuner kept under the search state dir, instead of searching again."""

import json
import os
import shutil

import pytest

from tests.conftest import DIGITS_DIR, read_digits_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

SPAN_ROWS = 600


def _state(run_dir):
  from tfx_hypertune.hypertune import results
  nodes = results.latest_run(str(run_dir / 'metadata.sqlite'))
  tuner = nodes['Tuner']
  with open(os.path.join(tuner.uri('tuner_results'), 'search_info.json')) as f:
    info = json.load(f)
  with open(os.path.join(tuner.uri('best_hyperparameters'), 'best_hyperparameters.txt')) as f:
    best = json.load(f)
  examples = nodes['CsvExampleGen']
  return {'nodes': nodes, 'info': info, 'best': best,
          'span': examples.custom('examples', 'span'),  # ExampleGen's driver sets it
          'source': tuner.custom('best_hyperparameters', 'hyperparameters_source'),
          'rows': sum(len(helpers.split_examples_at(examples.uri('examples'), split))
                      for split in ('train', 'eval', 'test'))}


@pytest.fixture(scope='module')
def two_spans(tmp_path_factory):
  root = tmp_path_factory.mktemp('spans')
  data = root / 'data'
  header, rows = read_digits_rows(2 * SPAN_ROWS)
  write_csv(data / 'span-1' / 'digits.csv', header, rows[:SPAN_ROWS])
  shutil.copy(os.path.join(DIGITS_DIR, 'schema.pbtxt'), data / 'schema.pbtxt')
  from tfx_hypertune.hypertune import cli
  args = ['run', '--data', str(data), '--output-dir', str(root / 'runs'), '--max-epochs', '2',
          '--accuracy-threshold', '0.5', '--set', 'tuning=never',
          '--set', 'data.span_window=2', '--set', 'evaluation.max_accuracy_drop=1']
  assert cli.main(args) == 0
  first = _state(root / 'runs' / 'hypertune-data')
  write_csv(data / 'span-2' / 'digits.csv', header, rows[SPAN_ROWS:])  # the next day's data
  assert cli.main(args) == 0
  second = _state(root / 'runs' / 'hypertune-data')
  return first, second, root


def test_first_run_searches_on_the_only_span(two_spans):
  first, _, _ = two_spans
  assert first['span'] == 1
  assert first['rows'] == SPAN_ROWS
  assert first['source'].startswith('search: ')
  assert first['info']['tuning_decision'] == (
      'searching: no earlier search on this dataset (first run)')


def test_next_run_trains_on_the_new_span_window(two_spans):
  _, second, _ = two_spans
  assert second['span'] == 2
  assert second['rows'] == 2 * SPAN_ROWS  # window of 2: spans 1 and 2
  assert second['nodes']['Trainer'].state == 'COMPLETE'  # a new model, on the new data
  assert second['nodes']['Pusher'].state == 'COMPLETE'


def test_never_reuses_the_earlier_best_hyperparameters_without_a_search(two_spans):
  first, second, _ = two_spans
  assert second['info']['trials_run'] == 0
  assert 'search' not in os.listdir(second['nodes']['Tuner'].uri('tuner_results'))
  assert second['source'].startswith('reusing the best hyperparameters of an earlier search')
  # Kept by the first run's Tuner under the search state dir, pointing at its results.
  assert '/TunerState/latest/' in second['info']['reused_file']
  assert first['nodes']['Tuner'].uri('tuner_results') in second['source']
  assert second['best'] == first['best']


def test_the_trained_model_has_the_reused_width(two_spans):
  _, second, root = two_spans
  serving = str(root / 'runs' / 'hypertune-data' / 'serving')
  newest = helpers.serving_versions(serving)[-1]
  values = second['best']['values']
  widths = [values[f'units_{i}'] for i in range(values['num_layers'])]
  assert helpers.saved_model_hidden_widths(os.path.join(serving, newest)) == widths
