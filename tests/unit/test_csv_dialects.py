"""CSV dialects and odd cells: whatever Python's csv module reads as the same table gives the
same run. The data check and ExampleGen read through one reader (components/csv_table.py):
here both see each dialect, and ExampleGen's examples (real Beam, DirectRunner) must equal
those of the plain file."""

import os

import apache_beam as beam
import pytest

from tfx_hypertune.components import example_gen
from tfx_hypertune.hypertune import data_check

ROWS = [('a', '0.5', 'red', '3'), ('b', '1.5', 'blue "navy"', '4'), ('a', '2.5', 'red', '5')] * 30
HEADER = ('label', 'x', 'color', 'n')


def _plain():
  def quote(cell):
    return f'"{cell.replace(chr(34), chr(34) * 2)}"' if '"' in cell else cell
  return '\n'.join(','.join(quote(c) for c in row) for row in [HEADER, *ROWS]) + '\n'


DIALECTS = {
    # Every field quoted, the header too, with CRLF line ends (spreadsheet exports).
    'all_quoted_crlf': '\r\n'.join(','.join('"' + c.replace('"', '""') + '"' for c in row)
                                   for row in [HEADER, *ROWS]) + '\r\n',
    # A UTF-8 byte-order mark (Excel's "CSV UTF-8").
    'bom': '\ufeff' + _plain(),
    # A space after each comma, and trailing spaces.
    'spaces': _plain().replace(',', ', ').replace('\n', '  \n'),
}


def _write(folder, text):
  os.makedirs(folder, exist_ok=True)
  with open(os.path.join(folder, 'data.csv'), 'w', encoding='utf-8', newline='') as f:
    f.write(text)
  return str(folder)


def _examples(folder):
  """ExampleGen's (split, tf.Example) pairs for the folder's file, through Beam."""
  files = [os.path.join(folder, 'data.csv')]
  with beam.Pipeline() as pipeline:
    out = pipeline | example_gen._PositionSplitCsv(files, 0, [14, 3, 3])  # noqa: SLF001
    collected = out | beam.Map(lambda item: (item[0], sorted(
        (name, str(feature).replace('\n', ' '))
        for name, feature in item[1].features.feature.items())))
    path = os.path.join(folder, 'examples')
    collected | beam.Map(repr) | beam.io.WriteToText(path, shard_name_template='')
  with open(path) as f:
    return sorted(f.read().splitlines())


@pytest.fixture(scope='module')
def plain(tmp_path_factory):
  folder = _write(tmp_path_factory.mktemp('plain') / 'data', _plain())
  return data_check.check_data(folder, 'label'), _examples(folder)


@pytest.mark.parametrize('dialect', sorted(DIALECTS))
def test_each_dialect_reads_as_the_plain_table(tmp_path, plain, dialect):
  plain_summary, plain_examples = plain
  folder = _write(tmp_path / 'data', DIALECTS[dialect])
  summary = data_check.check_data(folder, 'label')
  assert (summary.columns, summary.numeric_columns, summary.text_columns, summary.classes,
          summary.split_rows) == (plain_summary.columns, plain_summary.numeric_columns,
                                  plain_summary.text_columns, plain_summary.classes,
                                  plain_summary.split_rows)
  assert summary.columns == list(HEADER) and summary.numeric_columns == ['x', 'n']
  # 'spaces': a space before fields 2 to 4 of each row, trailing spaces after the last.
  assert summary.stripped_fields == (len(ROWS) * 3 if dialect == 'spaces' else 0)
  assert _examples(folder) == plain_examples


def test_spellings_of_missing_are_missing(tmp_path, plain):
  rows = [list(r) for r in ROWS]
  rows[0][1], rows[1][1], rows[2][1], rows[3][1] = 'NaN', 'nan', 'NA', 'null'
  text = '\n'.join(','.join(row) for row in [HEADER, *rows]) + '\n'
  folder = _write(tmp_path / 'data', text)
  summary = data_check.check_data(folder, 'label')
  assert summary.numeric_columns == ['x', 'n']  # not turned into a text column
  blank = [list(r) for r in ROWS]
  for row in blank[:4]:
    row[1] = ''
  blank_folder = _write(tmp_path / 'blank', '\n'.join(','.join(r) for r in [HEADER, *blank]) +
                        '\n')
  assert _examples(folder) == _examples(blank_folder)
  assert _examples(folder) != plain[1]


@pytest.mark.parametrize('cell', ['inf', '-Infinity', '1e999'])
def test_infinities_are_refused_naming_file_line_and_column(tmp_path, cell):
  rows = [list(r) for r in ROWS]
  rows[4][3] = cell
  folder = _write(tmp_path / 'data', '\n'.join(','.join(r) for r in [HEADER, *rows]) + '\n')
  with pytest.raises(data_check.DataError) as error:
    data_check.check_data(folder, 'label')
  assert str(error.value).startswith(f"{folder}/data.csv line 6: column 'n': '{cell}' is not a "
                                     f"finite number")
