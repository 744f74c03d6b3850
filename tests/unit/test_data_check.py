"""Each bad input ends in one line that names the file, line or column and what is wrong."""

import os

import pytest

from tfx_hypertune.hypertune import data_check
from tests.conftest import DIGITS_DIR, pets_rows, read_digits_rows, write_csv

SCHEMA = os.path.join(DIGITS_DIR, 'schema.pbtxt')


def _check(data_dir, label='label', schema=None, task='auto'):
  return data_check.check_data(str(data_dir), label, schema, task=task)


def _error(data_dir, label='label', schema=None, task='auto'):
  with pytest.raises(data_check.DataError) as error:
    _check(data_dir, label, schema, task)
  message = str(error.value)
  assert '\n' not in message
  return message


def test_digits_pass():
  summary = _check(DIGITS_DIR, schema=SCHEMA)
  assert summary.rows == 1797
  assert summary.classes == [str(i) for i in range(10)]
  assert len(summary.numeric_columns) == 64 and summary.text_columns == []


def test_string_features_and_labels_pass(tmp_path):
  header, rows = pets_rows(100)
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
  header, rows = ['x', 'label'], [[str(i), str(i % 2)] for i in range(30)]
  for span in (1, 2, 10):
    write_csv(tmp_path / f'span-{span}' / 'part.csv', header, rows)
  (tmp_path / 'span-notes').mkdir()  # not a span
  files = data_check.csv_files(str(tmp_path), span_window=2)
  assert [os.path.basename(os.path.dirname(f)) for f in files] == ['span-2', 'span-10']
  assert data_check.check_data(str(tmp_path), 'label', span_window=3).rows == 90


def test_empty_span_folder_is_named(tmp_path):
  (tmp_path / 'span-1').mkdir()
  with pytest.raises(data_check.DataError, match=r'span folder .*span-1: no .csv files'):
    data_check.csv_files(str(tmp_path), span_window=1)


def test_a_continuous_label_is_refused_as_classes(tmp_path):
  rows = [[str(i), f'{i * 1.37:.2f}'] for i in range(100)]
  write_csv(tmp_path / 'prices.csv', ['x', 'price'], rows)
  message = _error(tmp_path, label='price', task='classification')
  assert "label column 'price'" in message and 'continuous numbers (100 distinct values' in message
  assert 'use --task regression' in message


@pytest.mark.parametrize('values, task', [
    ([f'{i * 1.37:.2f}' for i in range(100)], 'regression'),  # non-integer numbers
    ([str(i * 3) for i in range(100)], 'regression'),         # 100 distinct integers
    ([str(i % 3) for i in range(100)], 'classification'),     # integers, 3 values
    ([str(i % 21) for i in range(105)], 'regression'),        # 21 values: one over the rule
    ([str(i % 20) for i in range(100)], 'classification'),    # 20 values: within it
    ([['cat', 'dog', '3.5'][i % 3] for i in range(99)], 'classification'),  # text
])
def test_auto_picks_the_task_the_rule_says(tmp_path, values, task):
  write_csv(tmp_path / 'data.csv', ['x', 'label'], [[str(i), v] for i, v in enumerate(values)])
  summary = _check(tmp_path)
  assert summary.task == task
  assert summary.task_reason.startswith(f'{task} (auto: ')


def test_an_explicit_task_is_kept_and_checked(tmp_path):
  write_csv(tmp_path / 'data.csv', ['x', 'label'],
            [[str(i), str(i % 3)] for i in range(100)])
  summary = _check(tmp_path, task='regression')  # three values, but the user says regression
  assert summary.task == 'regression' and summary.task_reason == 'regression (set in the config)'
  write_csv(tmp_path / 'data.csv', ['x', 'label'],
            [[str(i), ['cat', 'dog'][i % 2]] for i in range(100)])
  assert "regression needs numbers, but it holds text such as 'cat'" in _error(
      tmp_path, task='regression')


def test_integer_labels_with_few_values_are_classes(tmp_path):
  rows = [[str(i), str(i % 3)] for i in range(100)]
  write_csv(tmp_path / 'small.csv', ['x', 'label'], rows)
  assert _check(tmp_path).classes == ['0', '1', '2']


def test_a_binary_file_is_refused_naming_it(tmp_path):
  (tmp_path / 'data.csv').write_bytes(b'x,label\n\x89PNG\r\n\x1a\n\xff\xfe\x00\x00')
  message = _error(tmp_path)
  assert message.startswith(f'{tmp_path / "data.csv"}: not a text CSV file')


def test_a_file_with_nul_bytes_is_refused(tmp_path):
  (tmp_path / 'data.csv').write_bytes(b'x,label\n1,\x002\n')
  assert 'not a readable CSV file' in _error(tmp_path)


def test_splits_are_counted_and_too_small_ones_refused(tmp_path):
  header, rows = pets_rows(200)
  write_csv(tmp_path / 'pets.csv', header, rows)
  summary = _check(tmp_path, label='animal')
  assert summary.split_rows == {'train': 140, 'eval': 30, 'test': 30}
  small = tmp_path / 'small'
  write_csv(small / 'pets.csv', header, rows[:40])
  message = _error(small, label='animal')
  assert message.startswith('split eval (15% of the rows) would hold 6 rows (fewer than 10)')
  assert 'add rows (at least 67' in message


def test_a_split_with_a_single_class_is_refused(tmp_path):
  # 99 rows of one class and one of another: eval or test holds a single class.
  rows = [[str(i), 'a'] for i in range(99)] + [['99', 'b']]
  write_csv(tmp_path / 'skewed.csv', ['x', 'label'], rows)
  assert 'would hold a single class (a)' in _error(tmp_path)


@pytest.mark.parametrize('row, fields', [(['1', '2', '0', 'extra'], 4), (['1'], 1)])
def test_rows_with_more_or_fewer_fields_are_refused(tmp_path, row, fields):
  rows = [[str(i), str(i), str(i % 2)] for i in range(100)]
  rows.insert(5, row)
  write_csv(tmp_path / 'd.csv', ['a', 'b', 'label'], rows)
  assert _error(tmp_path).endswith(f'd.csv line 7: {fields} fields, but the header has 3')


def _imbalanced(tmp_path, positives_every=40, classes=('no', 'yes')):
  rows = [[classes[1] if i % positives_every == 0 else classes[0], str(i % 7)]
          for i in range(800)]
  write_csv(tmp_path / 'rows.csv', ['label', 'x'], rows)
  return data_check.check_data(str(tmp_path), 'label')


def test_an_imbalanced_label_is_named_with_the_settings_that_help(tmp_path):
  summary = _imbalanced(tmp_path)
  warning = data_check.imbalance_warning(summary, 'val_accuracy', 'none')
  assert warning.startswith("class 'no' holds 97.")
  assert warning.endswith('set search.objective: val_auc and training.class_weight: balanced '
                          '(--objective val_auc --set training.class_weight=balanced)')
  partly = data_check.imbalance_warning(summary, 'val_balanced_accuracy', 'none')
  assert partly.endswith('set training.class_weight: balanced '
                         '(--set training.class_weight=balanced)')
  assert 'suit it' in data_check.imbalance_warning(summary, 'val_auc', 'balanced')


def test_a_label_at_ninety_percent_or_below_gets_no_warning(tmp_path):
  assert data_check.imbalance_warning(_imbalanced(tmp_path, positives_every=5),
                                      'val_accuracy', 'none') is None


# ---------------------------------------------------------------------------------------------
# Folders as other tools write them, and what the check guessed.


def _parts_folder(folder):
  """A folder as Spark writes one: parts with rows, a part with only a header, a part of no
  bytes, _SUCCESS, and a Mac's AppleDouble twin of a part (binary)."""
  header, rows = pets_rows(300)
  write_csv(folder / 'part-00000.csv', header, rows[:150])
  write_csv(folder / 'part-00001.csv', header, [])
  (folder / 'part-00002.csv').write_bytes(b'')
  write_csv(folder / 'part-00003.csv', header, rows[150:])
  (folder / '_SUCCESS').write_bytes(b'')
  (folder / '._part-00000.csv').write_bytes(b'\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X\xff')
  return folder


def test_empty_parts_are_skipped_and_counted(tmp_path):
  folder = _parts_folder(tmp_path)
  summary = _check(folder, label='animal')
  assert summary.rows == 300
  assert [os.path.basename(p) for p in summary.files] == [
      'part-00000.csv', 'part-00001.csv', 'part-00002.csv', 'part-00003.csv']
  assert [os.path.basename(p) for p in summary.empty_parts] == ['part-00001.csv',
                                                                 'part-00002.csv']


def test_a_folder_of_empty_parts_is_refused(tmp_path):
  write_csv(tmp_path / 'part-00000.csv', ['x', 'label'], [])
  (tmp_path / 'part-00001.csv').write_bytes(b'')
  assert _error(tmp_path) == (f'data folder {tmp_path}: all 2 CSV files are empty (no rows '
                              f'after the header, or no bytes at all)')


def test_example_gen_reads_the_files_the_check_reads(tmp_path):
  """One rule for which files are data: hidden and bookkeeping files are not, and a part of
  no bytes holds nothing to read."""
  from tfx_hypertune.components import example_gen
  folder = _parts_folder(tmp_path)
  checked = data_check.csv_files(str(folder))
  read = example_gen.input_files({'input_base': str(folder)}, '*.csv')
  assert read == checked
  assert [os.path.basename(p) for p in example_gen.with_content(read)] == [
      'part-00000.csv', 'part-00001.csv', 'part-00003.csv']


def test_a_class_only_outside_the_training_split_is_refused_by_name(tmp_path):
  header, rows = pets_rows(200)
  train_positions = {i for i, split in enumerate(
      data_check.splits.assign(len(rows) + 2, 'pets.csv', 0)) if split == 0}
  outside = [i for i in range(len(rows) + 2) if i not in train_positions][:2]
  for position in outside:  # two rows of a third class, both where training never looks
    rows.insert(position, ['5.0', '10.0', 'white', 'fox'])
  write_csv(tmp_path / 'pets.csv', header, rows)
  message = _error(tmp_path, label='animal')
  assert message.startswith(f"label column 'animal' in {tmp_path}: class 'fox' has 2 row(s), "
                            f'none in the training split (')
  assert 'add rows of that class' in message and 'or remove its rows' in message


def test_a_semicolon_separated_file_is_named_as_such(tmp_path):
  (tmp_path / 'data.csv').write_text('a;b;color;label\n1;2;red;x\n')
  message = _error(tmp_path)
  assert message.startswith(f"{tmp_path / 'data.csv'}: the header reads as one column "
                            f"('a;b;color;label'): the file looks ';'-separated")
  assert 'save it with commas' in message


def test_a_latin1_file_is_named_as_such(tmp_path):
  text = 'city,label\n' + ''.join(f'Z\u00fcrich {i},a\nM\u00e1laga {i},b\n' for i in range(30))
  (tmp_path / 'data.csv').write_bytes(text.encode('cp1252'))
  message = _error(tmp_path)
  assert message.startswith(f"{tmp_path / 'data.csv'} line 2: not UTF-8 text (byte 0xfc in "
                            "'Z\u00fc")
  assert 'Latin-1 / Windows-1252' in message and 'iconv -f cp1252 -t utf-8' in message


def test_guessed_columns_are_named_in_notes(tmp_path):
  """A row index pandas wrote without a name, and numbers with thousands separators (text to
  the pipeline): the run goes on, and says what it took them for."""
  rows = [[str(i), f'"{1000 + 37 * i:,}"', str(i % 7), 'ab'[i % 2]] for i in range(120)]
  (tmp_path / 'data.csv').write_text(
      ',amount,x,label\n' + ''.join(','.join(row) + '\n' for row in rows))
  summary = _check(tmp_path)
  assert summary.columns[0] == 'column_1'
  assert 'amount' in summary.text_columns
  assert summary.notes == [
      'column 1 has no name in the header: it is called column_1',
      "column 'column_1' counts the rows (0, 1, 2, ...): a row index, not data, yet it is used "
      'as a feature; drop it from the files (pandas: to_csv(index=False))',
      "column 'amount' holds numbers with thousands separators (e.g. '1,000'): read as text, "
      'one category per value; write them without separators to use them as numbers']
