"""`hypertune run --data DIR --label COLUMN` on a CSV the test writes: a string feature, missing
values and a string label, orchestrated by BeamDagRunner (the other local orchestrator). Then
the schema is frozen and new data that drifts from it is stopped by ExampleValidator before the
Tuner, with nothing lost."""

import os

import pytest

from tests.conftest import pets_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

BUDGET = ['--max-epochs', '3', '--seed', '1', '--accuracy-threshold', '0.7']


@pytest.fixture(scope='module')
def pets_run(tmp_path_factory):
  root = tmp_path_factory.mktemp('pets')
  data_dir = root / 'data'
  header, rows = pets_rows(400)
  write_csv(data_dir / 'pets.csv', header, rows)
  from hypertune import cli
  code = cli.main(['run', '--data', str(data_dir), '--label', 'animal', '--output-dir',
                   str(root / 'runs'), '--pipeline-name', 'pets', '--orchestrator', 'beam',
                   *BUDGET])
  assert code == 0
  run_dir = root / 'runs' / 'pets'
  return {'root': root, 'data_dir': data_dir, 'run_dir': run_dir,
          'serving': str(run_dir / 'serving'), 'header': header, 'rows': rows}


def test_beam_orchestrated_run_pushes_a_model(pets_run):
  states = helpers.node_states(str(pets_run['run_dir'] / 'metadata.sqlite'))
  assert states['SchemaGen'] == 'COMPLETE'  # no curated schema yet: inferred
  assert states['Pusher'] == 'COMPLETE'
  assert len(helpers.serving_versions(pets_run['serving'])) == 1


def test_predictions_are_label_strings(pets_run, tmp_path, capsys):
  header = pets_run['header']
  rows = [['1.0', '2.1', 'white', 'bird'], ['8.0', '16.2', 'black', 'dog'],
          ['', '10.0', '', 'cat'], ['5.0', '9.8', 'purple', 'cat']]  # missing, unseen values
  csv_path = write_csv(tmp_path / 'new.csv', header, rows)
  code, out, err = helpers.run_cli(capsys, 'predict', '--model', pets_run['serving'],
                                   '--data', str(csv_path))
  assert code == 0
  lines = out.strip().splitlines()
  assert lines[0] == 'predicted_label,probability' and len(lines) == 5
  assert {line.split(',')[0] for line in lines[1:]} <= {'bird', 'cat', 'dog'}
  assert lines[1].split(',')[0] == 'bird'  # size < 3 is always a bird
  assert err.startswith('accuracy: ')


def test_held_out_accuracy(pets_run):
  model_dir = os.path.join(pets_run['serving'], helpers.serving_versions(pets_run['serving'])[0])
  held_out = helpers.split_examples(str(pets_run['run_dir'] / 'pipeline_root'), 'test')
  assert helpers.serve_accuracy(model_dir, held_out, 'animal') >= 0.8


def test_schema_drift_stops_before_the_tuner(pets_run, capsys):
  data_dir, run_dir = pets_run['data_dir'], pets_run['run_dir']
  common = ['--data', str(data_dir), '--label', 'animal', '--output-dir',
            str(pets_run['root'] / 'runs'), '--pipeline-name', 'pets']
  code, out, _ = helpers.run_cli(capsys, 'freeze-schema', *common)
  assert code == 0 and (data_dir / 'schema.pbtxt').is_file()
  # New data: a colour the curated schema has never seen, in many rows.
  header, rows = pets_run['header'], [list(r) for r in pets_run['rows']]
  for row in rows[:60]:
    row[2] = 'purple'
  write_csv(data_dir / 'pets.csv', header, rows)
  pushed_before = helpers.serving_versions(pets_run['serving'])
  tuner_runs_before = os.listdir(run_dir / 'pipeline_root' / 'Tuner' / 'tuner_results')

  code, out, err = helpers.run_cli(capsys, 'run', *common, *BUDGET)

  assert code == 1
  message = err.strip().splitlines()[-1]
  assert message.startswith('hypertune: stopped: ExampleValidator found')
  assert 'column color' in message and 'purple' in message
  states = helpers.node_states(str(run_dir / 'metadata.sqlite'))
  assert states['ImportSchemaGen'] == 'COMPLETE' and 'Transform' not in states
  # Nothing lost: the pushed model and the earlier run's trials are still there.
  assert helpers.serving_versions(pets_run['serving']) == pushed_before
  assert os.listdir(run_dir / 'pipeline_root' / 'Tuner' / 'tuner_results') == tuner_runs_before
