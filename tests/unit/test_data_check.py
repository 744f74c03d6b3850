"""Each bad input ends in one line that names the file, line or column and what is wrong."""

import os

import pytest

from hypertune import data_check
from tests.conftest import DIGITS_DIR, pets_rows, read_digits_rows, write_csv

SCHEMA = os.path.join(DIGITS_DIR, 'schema.pbtxt')


def _check(data_dir, label='label', schema=None):
  return data_check.check_data(str(data_dir), label, schema)


def _error(data_dir, label='label', schema=None):
  with pytest.raises(data_check.DataError) as error:
    _check(data_dir, label, schema)
  message = str(error.value)
  assert '\n' not in message
  return message


def test_digits_pass():
  summary = _check(DIGITS_DIR, schema=SCHEMA)
  assert summary.rows == 1797
  assert summary.classes == [str(i) for i in range(10)]
  assert len(summary.numeric_columns) == 64 and summary.text_columns == []


def test_string_features_and_labels_pass(tmp_path):
  header, rows = pets_rows(50)
  write_csv(tmp_path / 'pets.csv', header, rows)
  summary = _check(tmp_path, label='animal')
  assert summary.text_columns == ['color']
  assert summary.numeric_columns == ['size', 'weight']
  assert summary.classes == ['bird', 'cat', 'dog']


def test_missing_folder(tmp_path):
  assert _error(tmp_path / 'nope') == f'data folder {tmp_path / "nope"}: not found'


def test_folder_without_csv(tmp_path):
  (tmp_path / 'notes.txt').write_text('x')
  assert _error(tmp_path) == f'data folder {tmp_path}: no .csv files in it'


def test_empty_csv(tmp_path):
  (tmp_path / 'a.csv').write_text('')
  assert _error(tmp_path).startswith(f'{tmp_path / "a.csv"}: empty file')


def test_header_only(tmp_path):
  (tmp_path / 'a.csv').write_text('x,label\n')
  assert _error(tmp_path) == f'{tmp_path / "a.csv"}: no data rows after the header'


def test_missing_label_column(tmp_path):
  header, rows = read_digits_rows(20)
  write_csv(tmp_path / 'd.csv', header, rows)
  message = _error(tmp_path, label='digit')
  assert message.startswith(f"{tmp_path / 'd.csv'}: label column 'digit' not found")


def test_ragged_row(tmp_path):
  path = tmp_path / 'r.csv'
  path.write_text('a,b,label\n1,2,x\n3,4,y\n5,6\n')
  assert _error(tmp_path) == f'{path} line 4: 2 fields, but the header has 3'


def test_text_in_numeric_column_with_schema(tmp_path):
  header, rows = read_digits_rows(30)
  rows[7][5] = 'oops'
  write_csv(tmp_path / 'd.csv', header, rows)
  message = _error(tmp_path, schema=SCHEMA)
  assert message == (f"{tmp_path / 'd.csv'} line 9: text 'oops' in numeric column "
                     f"'{header[5]}' (the schema says it is numeric)")


def test_text_in_numeric_column_without_schema(tmp_path):
  header, rows = read_digits_rows(30)
  rows[2][3] = '1O'
  write_csv(tmp_path / 'd.csv', header, rows)
  message = _error(tmp_path)
  assert message.startswith(f"{tmp_path / 'd.csv'} line 4: text '1O' in numeric column "
                            f"'{header[3]}' (29 of its 30 values are numbers)")


def test_single_class(tmp_path):
  path = tmp_path / 's.csv'
  path.write_text('a,label\n1,7\n2,7\n3,7\n')
  assert _error(tmp_path) == (f"label column 'label' in {tmp_path}: a single class (7); "
                              'classification needs two or more')


def test_empty_label(tmp_path):
  path = tmp_path / 's.csv'
  path.write_text('a,label\n1,7\n2,\n')
  assert _error(tmp_path) == f"{path} line 3: label column 'label' is empty"


def test_files_with_different_columns(tmp_path):
  (tmp_path / 'a.csv').write_text('a,label\n1,x\n2,y\n')
  (tmp_path / 'b.csv').write_text('b,label\n1,x\n')
  assert _error(tmp_path).startswith(f"{tmp_path / 'b.csv'}: columns differ")


def test_span_folders_newest_window(tmp_path):
  header, rows = ['x', 'label'], [['1', '0'], ['2', '1']]
  for span in (1, 2, 10):
    write_csv(tmp_path / f'span-{span}' / 'part.csv', header, rows)
  (tmp_path / 'span-notes').mkdir()  # not a span
  files = data_check.csv_files(str(tmp_path), span_window=2)
  assert [os.path.basename(os.path.dirname(f)) for f in files] == ['span-2', 'span-10']
  assert data_check.check_data(str(tmp_path), 'label', span_window=3).rows == 6


def test_empty_span_folder_is_named(tmp_path):
  (tmp_path / 'span-1').mkdir()
  with pytest.raises(data_check.DataError, match=r'span folder .*span-1: no .csv files'):
    data_check.csv_files(str(tmp_path), span_window=1)
