"""`hypertune run --data DIR --label COLUMN` on CSVs the tests write, as a new user would, all
in one working directory (one --output-dir):

- pets: a string feature, missing values and a string label, orchestrated by BeamDagRunner;
  then the schema is frozen and new data that drifts from it is stopped by ExampleValidator
  before the Tuner, with nothing lost;
- survey: all-categorical answers with many repeated rows (18 distinct rows in 1,316): the
  splits still get their shares, and a model far below 0.9 but above the majority class is
  blessed and pushed by the default rule;
- the pets data forced into the survey's pipeline name: it runs, and uses nothing of the
  survey's (baseline model, hyperparameters, search state);
- noise: labels unrelated to the features, in a table whose every column name is hostile (no
  name, slashes, brackets, accents, Chinese, an emoji, a leading digit): every component runs,
  the model takes the raw names and `hypertune predict` scores the file; the model is not
  blessed, and the summary says why;
- an error inside a component: one line, a log with the traceback, exit status 1.
"""

import contextlib
import io
import json
import os
import random
import subprocess
import sys

import pytest

from tfx_hypertune.components import splits
from tests.conftest import REPO, pets_rows, write_csv
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

BUDGET = ['--max-epochs', '3', '--seed', '1']


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  return tmp_path_factory.mktemp('realdata')


def _run(workdir, data_dir, label, *extra):
  from tfx_hypertune.hypertune import cli
  return cli.main(['run', '--data', str(data_dir), '--label', label, '--output-dir',
                   str(workdir / 'runs'), *BUDGET, *extra])


def _summary(run_dir):
  from tfx_hypertune.hypertune import results
  return results.summarize(str(run_dir / 'metadata.sqlite'), str(run_dir / 'pipeline_root'))


@pytest.fixture(scope='module')
def pets_run(workdir):
  data_dir = workdir / 'pets'
  header, rows = pets_rows(400)
  write_csv(data_dir / 'pets.csv', header, rows)
  progress = io.StringIO()
  with contextlib.redirect_stdout(progress):
    assert _run(workdir, data_dir, 'animal', '--orchestrator', 'beam') == 0
  run_dir = workdir / 'runs' / 'hypertune-pets'  # the name comes from the data folder
  return {'root': workdir, 'data_dir': data_dir, 'run_dir': run_dir, 'out': progress.getvalue(),
          'serving': str(run_dir / 'serving'), 'header': header, 'rows': rows}


def survey_rows(n=1316, seed=0):
  """Answers to three multiple-choice questions and a verdict that mostly follows two of them:
  18 distinct answer rows, each repeated ~70 times; 30% of verdicts are random."""
  rng = random.Random(seed)
  verdicts = ['agree', 'neutral', 'disagree']
  rows = []
  for _ in range(n):
    answer, age, region = (rng.choice(['yes', 'no', 'maybe']), rng.choice(['young', 'mid', 'old']),
                           rng.choice(['north', 'south']))
    verdict = verdicts[(['yes', 'no', 'maybe'].index(answer) + (age == 'old')) % 3]
    if rng.random() < 0.3:
      verdict = rng.choice(verdicts)
    rows.append([answer, age, region, verdict])
  return ['answer', 'age', 'region', 'verdict'], rows


@pytest.fixture(scope='module')
def survey_run(workdir, pets_run):
  del pets_run  # runs first: two datasets, one working directory
  data_dir = workdir / 'survey'
  header, rows = survey_rows()
  write_csv(data_dir / 'answers.csv', header, rows)
  assert _run(workdir, data_dir, 'verdict') == 0
  run_dir = workdir / 'runs' / 'hypertune-survey'
  return {'run_dir': run_dir, 'summary': _summary(run_dir)}


def test_repeated_rows_still_split_by_their_shares(survey_run):
  root = str(survey_run['run_dir'] / 'pipeline_root')
  sizes = {name: len(helpers.split_examples(root, name)) for name, _ in splits.DEFAULT_SPLITS}
  assert sum(sizes.values()) == 1316
  for name, share in splits.DEFAULT_SPLITS:
    assert abs(sizes[name] / 1316 - share) <= 0.02, sizes


def test_default_rule_blesses_a_sound_model_below_0_9(survey_run):
  summary = survey_run['summary']
  assert 0.5 < summary.accuracy < 0.9
  assert summary.blessed and summary.pushed_to
  assert summary.blessing_rule.startswith(f'yes: accuracy {summary.accuracy:.4f} vs ')
  assert 'always predicting class' in summary.blessing_rule


@pytest.fixture(scope='module')
def forced_run(workdir, pets_run, survey_run):
  """The pets data under the survey's pipeline name, reusing what a reusing policy may."""
  assert _run(workdir, pets_run['data_dir'], 'animal', '--pipeline-name', 'hypertune-survey',
              '--set', 'tuning=never') == 0
  run_dir = survey_run['run_dir']
  return {'run_dir': run_dir, 'summary': _summary(run_dir)}


def test_a_second_dataset_under_the_same_name_reuses_nothing(forced_run, survey_run):
  summary = forced_run['summary']
  assert summary.pushed_to and summary.pushed_to != survey_run['summary'].pushed_to
  # The survey's blessed model was not the baseline, and the survey's hyperparameters were not
  # reused although tuning=never would reuse them for the same data.
  assert 'trained on other data' in summary.blessing_rule
  assert summary.hyperparameters_source.startswith('search:')
  with open(os.path.join(summary.trials_dir, 'search_info.json')) as f:
    info = json.load(f)
  assert info['resumed'] is False and info['carried_over'] == []
  assert 'another dataset' in info['tuning_decision']
  surveyed = survey_run['summary'].trials_dir
  with open(os.path.join(surveyed, 'search_info.json')) as f:
    assert json.load(f)['search_state_dir'] != info['search_state_dir']


# Every column name a CSV header may hold, where the pipeline used to take names for
# identifiers (Keras layer names, TensorFlow scope names, vocabulary files): no name at all,
# a slash, brackets and a symbol, Chinese, an emoji and a percent sign, a leading digit, and a
# label of accents and a slash.
HOSTILE_HEADER = ['', 'size/cm', 'Café [€]', '颜色', '🐾 rate %', '1st', 'étiquette/label']
HOSTILE_LABEL = HOSTILE_HEADER[-1]


@pytest.fixture(scope='module')
def noise_run(workdir, pets_run):
  """Labels unrelated to the features, in a table whose every column name is hostile."""
  del pets_run
  rng = random.Random(3)
  rows = [[f'{rng.random():.4f}', f'{rng.random():.4f}', rng.choice(['x', 'y', 'z']),
           rng.choice(['红', '白']), f'{rng.random():.4f}', str(rng.randint(0, 9)),
           'a' if rng.random() < 0.7 else 'b'] for _ in range(600)]
  write_csv(workdir / 'noise' / 'noise.csv', HOSTILE_HEADER, rows)
  out = io.StringIO()
  from tfx_hypertune.hypertune import cli
  with contextlib.redirect_stdout(out):
    code = cli.main(['run', '--data', str(workdir / 'noise'), '--label', HOSTILE_LABEL,
                     '--output-dir', str(workdir / 'runs'), *BUDGET])
  run_dir = workdir / 'runs' / 'hypertune-noise'
  return {'code': code, 'out': out.getvalue(), 'run_dir': run_dir,
          'csv': str(workdir / 'noise' / 'noise.csv')}


def test_a_model_no_better_than_the_majority_class_is_not_pushed(noise_run):
  code, out = noise_run['code'], noise_run['out']
  assert code == 0
  blessed_line = next(line for line in out.splitlines() if 'blessed:' in line)
  assert blessed_line.split('blessed:')[1].strip().startswith('no: accuracy ')
  assert 'always predicting class a' in blessed_line
  assert 'pushed model:         not pushed' in out
  assert helpers.serving_versions(str(noise_run['run_dir'] / 'serving')) == []


def test_hostile_column_names_work_end_to_end(noise_run, capsys):
  """Transform, the search, the Trainer and the Evaluator ran on the hostile table; the model
  takes the raw column names (the unnamed one as column_1), and `hypertune predict` scores the
  CSV as it is."""
  assert noise_run['code'] == 0
  assert 'data: note: column 1 has no name in the header: it is called column_1' in (
      noise_run['out'])
  states = helpers.node_states(str(noise_run['run_dir'] / 'metadata.sqlite'))
  assert all(states[node] == 'COMPLETE' for node in (
      'Transform', 'Tuner', 'Trainer', 'Evaluator')), states
  from tfx_hypertune.hypertune import results
  trainer = results.latest_run(str(noise_run['run_dir'] / 'metadata.sqlite'))['Trainer']
  model_dir = os.path.join(trainer.uri('model'), 'Format-Serving')
  with open(os.path.join(model_dir, 'assets.extra', 'request_spec.json')) as f:
    request = json.load(f)
  assert request['label'] == HOSTILE_LABEL
  assert sorted(request['features']) == sorted(['column_1', *HOSTILE_HEADER[1:-1]])
  assert request['features']['颜色'] == 'bytes' and request['features']['size/cm'] == 'float'
  code, out, err = helpers.run_cli(capsys, 'predict', '--model', model_dir, '--data',
                                   noise_run['csv'])
  assert code == 0, err
  lines = out.strip().splitlines()
  assert lines[0] == 'predicted_label,probability' and len(lines) == 601
  assert {line.split(',')[0] for line in lines[1:]} <= {'a', 'b'}
  assert err.startswith('accuracy: ')


def test_an_error_inside_a_component_is_one_line_and_a_log(workdir, pets_run):
  """The SchemaGate's anomaly reader replaced by one that raises, in a process of its own.
  (Not a user function: TFX reloads those modules before it calls them.)"""
  script = '\n'.join([
      'import sys, tfx_hypertune.components.validation',
      'def broken(uri):',
      '  raise ArithmeticError("injected by the test")',
      'tfx_hypertune.components.validation.read_anomalies = broken',
      'from tfx_hypertune.hypertune import cli',
      'sys.exit(cli.main(sys.argv[1:]))'])
  done = subprocess.run(
      [sys.executable, '-c', script, 'run', '--data', str(pets_run['data_dir']), '--label',
       'animal', '--output-dir', str(workdir / 'broken'), *BUDGET],
      cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
  assert done.returncode == 1
  errors = [line for line in done.stderr.splitlines() if line.startswith('hypertune:')]
  assert len(errors) == 1 and 'Traceback' not in done.stderr, done.stderr[-3000:]
  assert errors[0].startswith('hypertune: failed in SchemaGate: ')
  assert 'injected by the test' in errors[0]
  log_path = errors[0].rsplit('(full traceback: ', 1)[1].rstrip(')')
  with open(log_path) as f:
    log = f.read()
  assert 'Traceback' in log and 'ArithmeticError: injected by the test' in log


def test_beam_orchestrated_run_pushes_a_model(pets_run):
  # BeamDagRunner's own module logged the nodes' start: it, not LocalDagRunner, ran them.
  assert 'orchestrator: BeamDagRunner' in pets_run['out']
  assert 'CsvExampleGen ...' in pets_run['out']
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
            str(pets_run['root'] / 'runs')]
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
