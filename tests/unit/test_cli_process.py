"""The `hypertune` command as a user runs it: a process, its exit status and its stderr.
Bad input ends with status 2 and one line, never a traceback."""

import subprocess
import sys

import pytest

from tests.conftest import write_csv


def _hypertune(*args, cwd):
  return subprocess.run([sys.executable, '-m', 'tfx_hypertune.hypertune.cli', *args], cwd=cwd,
                        capture_output=True, text=True, timeout=300, check=False)


def _one_line_error(done):
  lines = done.stderr.strip().splitlines()
  assert 'Traceback' not in done.stderr and len(lines) == 1, done.stderr[-2000:]
  return lines[0]


@pytest.mark.parametrize('make_data, label, expected', [
    (lambda d: write_csv(d / 'prices.csv', ['x', 'price'],
                         [[str(i), f'{i * 1.5 + 0.25}'] for i in range(80)]),
     'price --task classification', "label column 'price' in {data}: continuous numbers"),
    (lambda d: write_csv(d / 'pets.csv', ['x', 'animal'],
                         [[str(i), ['cat', 'dog'][i % 2]] for i in range(80)]),
     'animal --task regression', "label column 'animal' in {data}: regression needs numbers"),
    (lambda d: (d / 'data.csv').write_bytes(b'a,label\n\xff\xfe\x00\x81binary'),
     'label', '{data}/data.csv: not a text CSV file'),
    (lambda d: None, 'label', 'data folder {data}: no .csv files in it'),
])
def test_bad_input_exits_2_with_one_line(tmp_path, make_data, label, expected):
  data = tmp_path / 'data'
  data.mkdir()
  make_data(data)
  done = _hypertune('run', '--data', str(data), '--label', *label.split(), '--output-dir',
                    str(tmp_path / 'runs'), cwd=tmp_path)
  assert done.returncode == 2
  assert _one_line_error(done).startswith('hypertune: error: ' + expected.format(data=data))
  assert not (tmp_path / 'runs').exists()  # nothing ran, nothing was written


def test_bad_setting_exits_2(tmp_path):
  done = _hypertune('run', '--factor', '1', cwd=tmp_path)
  assert done.returncode == 2
  assert _one_line_error(done) == (
      'hypertune: error: search.factor: 1: Hyperband needs an integer factor of at least 2')

