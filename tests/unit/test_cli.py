"""Bad input through the `hypertune` command: one line naming what is wrong, exit status 2,
and nothing run (so nothing written)."""

import os

import pytest

from tfx_hypertune.hypertune import cli
from tests.conftest import read_digits_rows, write_csv


def _run(capsys, *args):
  code = cli.main(['run', *args])
  err = capsys.readouterr().err
  return code, err


@pytest.fixture
def output_dir(tmp_path):
  return str(tmp_path / 'runs')


def _assert_bad_input(capsys, output_dir, expected, *args):
  code, err = _run(capsys, '--output-dir', output_dir, *args)
  assert code == cli.EXIT_BAD_INPUT
  assert err.count('\n') == 1 and err.startswith('hypertune: error: ')
  assert expected in err, err
  assert not os.path.exists(output_dir)  # checked before anything ran


def test_missing_data_folder(capsys, output_dir, tmp_path):
  _assert_bad_input(capsys, output_dir, f'data folder {tmp_path}/none: not found',
                    '--data', str(tmp_path / 'none'))


def test_label_column_missing(capsys, output_dir, tmp_path):
  header, rows = read_digits_rows(20)
  write_csv(tmp_path / 'd' / 'd.csv', header, rows)
  _assert_bad_input(capsys, output_dir, "label column 'digit' not found",
                    '--data', str(tmp_path / 'd'), '--label', 'digit')


def test_invalid_config_flag(capsys, output_dir):
  _assert_bad_input(capsys, output_dir, 'search.factor: 1: Hyperband needs an integer factor',
                    '--factor', '1')


def test_invalid_space_override(capsys, output_dir):
  _assert_bad_input(capsys, output_dir, 'search.space.units: min 600 is above max 512',
                    '--set', 'search.space.units.min=600')


def test_invalid_config_file(capsys, output_dir, tmp_path):
  path = tmp_path / 'c.yaml'
  path.write_text('search:\n  space:\n    units: {kind: log, min: 1, max: 2}\n')
  _assert_bad_input(capsys, output_dir, "search.space.units.kind: 'log': unknown hyperparameter "
                    'kind', '--config', str(path))


def test_predict_missing_model(capsys, tmp_path):
  code = cli.main(['predict', '--model', str(tmp_path / 'm'), '--data', 'x.csv'])
  assert code == cli.EXIT_BAD_INPUT
  assert capsys.readouterr().err == f'hypertune: error: model {tmp_path}/m: not found\n'


def test_the_summary_prints_hyperparameters_as_a_reader_would_write_them(tmp_path):
  from tfx_hypertune.hypertune import results
  summary = results.RunSummary(
      best_hyperparameters={'num_layers': 1, 'dropout': 0.1 * 3, 'units_0': 208,
                            'learning_rate': 0.0001},
      trials=3, accuracy=0.9, blessed=True, pushed_to=None, pipeline_root=str(tmp_path),
      trials_dir=str(tmp_path), cached=[])
  lines = summary.lines()
  assert lines[0] == 'task:                 classification'
  assert lines[1] == ('best hyperparameters: {"num_layers": 1, "dropout": 0.3, "units_0": 208, '
                      '"learning_rate": 0.0001}')
  # Only the display is rounded: the value itself is still the float the search produced.
  assert summary.best_hyperparameters['dropout'] == 0.30000000000000004


def test_trials_on_beam_from_the_command_line():
  args = cli._parser().parse_args(['run', '--trials-on', 'beam', '--set',  # noqa: SLF001
                                   'search.parallel_trials=4'])
  config = cli.config_from_args(args)
  assert (config.search.trials_on, config.search.parallel_trials) == ('beam', 4)
  with pytest.raises(SystemExit):
    cli._parser().parse_args(['run', '--trials-on', 'cluster'])  # noqa: SLF001
