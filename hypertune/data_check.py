"""Checks a folder of CSV files before any component runs.

TFX would fail on these inputs too, but deep inside a Beam job and with a traceback; here each
problem becomes one line that names the file, the line or column, and what is wrong. The check
streams every file once (constant memory) through the reader ExampleGen uses
(components/csv_table.py), so both see the same columns and values.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import math
import os
import re
from collections import Counter
from typing import Dict, List, Optional, Tuple

from tfx_hypertune.components import class_balance, csv_table, spans, splits
from tfx_hypertune.model import objectives

# A column whose values are at least this share numbers is taken to be numeric, so a stray
# text cell in it is an error rather than a reason to treat the column as categorical.
NUMERIC_SHARE = 0.9
# The eval and test splits must each hold at least this many rows and two classes: fewer make
# early stopping, the search objective and the Evaluator's accuracy noise.
MIN_SPLIT_ROWS = 10
# task `auto`: a label whose values are all numbers is a regression target when any value is
# not an integer or it has more than this many distinct values; otherwise (integers with few
# values, or any text) it is classes.
AUTO_REGRESSION_DISTINCT = 20
# task `classification`: a numeric label with more distinct values than this, or any
# non-integer value, is refused as continuous.
MAX_NUMERIC_CLASSES = 50


class DataError(ValueError):
  """The input data cannot be used; the message names the file and what is wrong."""


@dataclasses.dataclass
class DataSummary:
  files: List[str]
  columns: List[str]
  rows: int
  classes: List[str]  # the label's distinct values
  numeric_columns: List[str]
  text_columns: List[str]
  split_rows: Dict[str, int] = dataclasses.field(default_factory=dict)
  task: str = 'classification'
  task_reason: str = ''
  stripped_fields: int = 0  # fields with whitespace around them (stripped, as ExampleGen does)
  train_label_counts: Dict[str, int] = dataclasses.field(default_factory=dict)
  empty_parts: List[str] = dataclasses.field(default_factory=list)  # no rows: skipped
  notes: List[str] = dataclasses.field(default_factory=list)  # what was guessed about columns


def csv_files(data_dir: str, span_window: Optional[int] = None) -> List[str]:
  """The CSV files a run reads: the data files (csv_table.data_files) in data_dir, or with
  span_window those of the newest span_window span-<N> folders."""
  if not os.path.isdir(data_dir):
    raise DataError(f'data folder {data_dir}: not found')
  if span_window is None:
    files = csv_table.data_files(glob.glob(os.path.join(data_dir, '*.csv')))
    if not files:
      raise DataError(f'data folder {data_dir}: no .csv files in it')
    return files
  by_span = spans.window_files(data_dir, span_window)
  if not by_span:
    raise DataError(f'data folder {data_dir}: no {spans.SPAN_PREFIX}<N> span folders in it')
  for span, found in by_span.items():
    if not found:
      raise DataError(f'span folder {spans.span_folder(data_dir, span)}: no .csv files in it')
  return [path for found in by_span.values() for path in found]


def check_data(data_dir: str, label: str, schema_path: Optional[str] = None,
               span_window: Optional[int] = None, seed: int = 0,
               task: str = 'auto') -> DataSummary:
  """Raises DataError on the first problem; returns what was found otherwise, with `auto`
  resolved to the task the label says (resolve_task)."""
  files = csv_files(data_dir, span_window)
  schema_types = read_schema_types(schema_path) if schema_path else {}
  if schema_types and label not in schema_types:
    raise DataError(f'schema {schema_path}: has no column {label!r} for the label')
  header: Optional[List[str]] = None
  stats: Dict[str, _ColumnStats] = {}
  by_split: List[Counter] = [Counter() for _ in splits.DEFAULT_SPLITS]
  rows = stripped = 0
  empty_parts: List[str] = []
  index_like = True
  for path in files:
    read = _check_file(path, label, header, schema_types, stats, single=len(files) == 1)
    if read is None or not read.labels:
      empty_parts.append(path)
      header = header or (read.header if read else None)
      continue
    header = header or read.header
    stripped += read.stripped
    rows += len(read.labels)
    index_like = index_like and read.first_column_counts_rows
    for split, value in zip(splits.assign(len(read.labels), os.path.basename(path), seed),
                            read.labels):
      by_split[split][value] += 1
  if not rows:
    raise DataError(f'data folder {data_dir}: all {len(files)} CSV files are empty (no rows '
                    f'after the header, or no bytes at all)')
  assert header is not None
  _check_text_in_numeric(stats, schema_types)
  classes = sorted(set().union(*by_split))
  task, reason = resolve_task(task, classes, schema_types.get(label))
  where = f'label column {label!r} in {data_dir}'
  if task == 'regression':
    _check_numeric_label(where, classes)
    _check_splits(by_split, rows, of_classes=False)
  else:
    _check_label(where, classes, schema_types.get(label))
    _check_splits(by_split, rows)
    _check_classes_seen_in_training(where, by_split)
  numeric = [c for c in header if c != label and stats[c].is_numeric(schema_types.get(c))]
  text = [c for c in header if c != label and c not in numeric]
  split_rows = {name: sum(counter.values())
                for (name, _), counter in zip(splits.DEFAULT_SPLITS, by_split)}
  return DataSummary(files, header, rows, classes, numeric, text, split_rows, task, reason,
                     stripped, dict(by_split[0]), empty_parts,
                     _column_notes(header, label, stats, index_like))


def _column_notes(header: List[str], label: str, stats: Dict[str, '_ColumnStats'],
                  index_like: bool) -> List[str]:
  """What the check guessed about columns that a user may not mean as they read: one line
  each (the run prints them, and the summary)."""
  notes = []
  for position, name in enumerate(header, start=1):
    if name == csv_table.UNNAMED_COLUMN.format(position=position):
      notes.append(f'column {position} has no name in the header: it is called {name}')
  first = header[0]
  if first != label and index_like and stats[first].numbers and not stats[first].texts and (
      first.startswith('column_') or first.lower() in INDEX_NAMES):
    notes.append(f'column {first!r} counts the rows (0, 1, 2, ...): a row index, not data, '
                 f'yet it is used as a feature; drop it from the files (pandas: '
                 f'to_csv(index=False))')
  for name in header:
    column = stats[name]
    if name != label and column.grouped_numbers and (
        column.grouped_numbers >= NUMERIC_SHARE * (column.numbers + column.texts)):
      notes.append(f'column {name!r} holds numbers with thousands separators (e.g. '
                   f'{column.first_grouped!r}): read as text, one category per value; write '
                   f'them without separators to use them as numbers')
  return notes


def _check_classes_seen_in_training(where: str, by_split: List[Counter]) -> None:
  """A class whose rows all fall outside the training split cannot be learned, and its label
  has no id in the vocabulary Transform builds from the training rows: every trial would fail
  on it. Refused here, naming the class."""
  train = by_split[0]
  for label in sorted(set().union(*by_split[1:])):
    if label in train:
      continue
    placed = ', '.join(f'{name} {counter[label]}' for (name, _), counter in
                       list(zip(splits.DEFAULT_SPLITS, by_split))[1:] if counter[label])
    rows = sum(counter[label] for counter in by_split)
    raise DataError(
        f'{where}: class {label!r} has {rows} row(s), none in the training split ({placed}; '
        f'rows are split by position): no model can learn it; add rows of that class (enough '
        f'that some fall in training) or remove its rows')


def imbalance_warning(summary: DataSummary, objective: str, class_weight: str) -> Optional[str]:
  """One line when the most common class holds more than class_balance.IMBALANCED_SHARE of
  the training rows, naming the settings that help (those not set yet); None otherwise."""
  if summary.task != 'classification' or not class_balance.is_imbalanced(
      summary.train_label_counts):
    return None
  label, share = class_balance.majority(summary.train_label_counts)
  balanced_objective = 'val_auc' if len(summary.classes) == 2 else 'val_balanced_accuracy'
  missing = ([(f'search.objective: {balanced_objective}', f'--objective {balanced_objective}')]
             if objective not in objectives.BALANCED_OBJECTIVES else []) + (
      [('training.class_weight: balanced', '--set training.class_weight=balanced')]
      if class_weight != 'balanced' else [])
  advice = (f'set {" and ".join(s for s, _ in missing)} '
            f'({" ".join(flag for _, flag in missing)})' if missing
            else f'objective {objective} and class_weight {class_weight} suit it')
  return (f'class {label!r} holds {share:.1%} of the training rows: always predicting it '
          f'scores that accuracy, so accuracy says little; the Evaluator blesses by balanced '
          f'accuracy; {advice}')


def resolve_task(task: str, values: List[str], schema_type: Optional[str] = None
                 ) -> Tuple[str, str]:
  """(classification | regression, why) for the label's distinct values. An explicit task
  is kept; `auto` follows the rule above AUTO_REGRESSION_DISTINCT."""
  if task != 'auto':
    return task, f'{task} (set in the config)'
  numbers = [v for v in values if v != '']
  if schema_type == 'BYTES' or not numbers or not all(_parses_as_number(v) for v in numbers):
    return 'classification', 'classification (auto: the label has text values)'
  fractional = [v for v in numbers if not float(v).is_integer()]
  if fractional:
    return 'regression', (f'regression (auto: the label is numeric with non-integer values, '
                          f'e.g. {fractional[0]})')
  if len(numbers) > AUTO_REGRESSION_DISTINCT:
    return 'regression', (f'regression (auto: the label is numeric with {len(numbers)} distinct '
                          f'values, more than {AUTO_REGRESSION_DISTINCT})')
  return 'classification', (f'classification (auto: the label has {len(numbers)} integer '
                            f'values, at most {AUTO_REGRESSION_DISTINCT})')


def _check_label(where: str, classes: List[str], schema_type: Optional[str]) -> None:
  if len(classes) < 2:
    raise DataError(f'{where}: a single class ({", ".join(classes) or "none"}); '
                    f'classification needs two or more')
  if schema_type == 'BYTES' or not all(_parses_as_number(c) for c in classes):
    return  # string classes
  fractional = [c for c in classes if not float(c).is_integer()]
  if fractional or len(classes) > MAX_NUMERIC_CLASSES:
    example = (fractional or classes)[0]
    raise DataError(
        f'{where}: continuous numbers ({len(classes)} distinct values, e.g. {example}), but '
        f'the task is classification: use --task regression (or data.task: auto), or make the '
        f'label a category (text, or integers with at most {MAX_NUMERIC_CLASSES} values)')


def _check_numeric_label(where: str, values: List[str]) -> None:
  text = [v for v in values if not _parses_as_number(v)]
  if text:
    raise DataError(f'{where}: regression needs numbers, but it holds text such as {text[0]!r}'
                    f' (use --task classification for categories)')
  if len(values) < 2:
    raise DataError(f'{where}: a single value ({", ".join(values) or "none"}); there is '
                    f'nothing to predict')


def _check_splits(by_split: List[Counter], rows: int, of_classes: bool = True) -> None:
  """The eval and test splits (by position, components/splits.py) need MIN_SPLIT_ROWS rows,
  and for classification two classes or more (a regression's label values may repeat)."""
  for (name, share), counter in list(zip(splits.DEFAULT_SPLITS, by_split))[1:]:
    size = sum(counter.values())
    single_class = of_classes and len(counter) < 2
    if size >= MIN_SPLIT_ROWS and not single_class:
      continue
    needed = math.ceil(MIN_SPLIT_ROWS / share)
    if not of_classes:
      raise DataError(
          f'split {name} ({share:.0%} of the rows) would hold {size} rows (fewer than '
          f'{MIN_SPLIT_ROWS}): the data has {rows} rows; add rows (at least {needed})')
    what = (f'{size} rows (fewer than {MIN_SPLIT_ROWS})' if size < MIN_SPLIT_ROWS else
            f'a single class ({next(iter(counter))})')
    raise DataError(
        f'split {name} ({share:.0%} of the rows) would hold {what}: the data has {rows} rows'
        f'; add rows (at least {needed}, with several of each class) so that every split '
        f'sees two classes or more')


@dataclasses.dataclass
class _ColumnStats:
  numbers: int = 0
  texts: int = 0
  first_text: Optional[str] = None
  first_text_where: str = ''
  grouped_numbers: int = 0  # text values that are numbers with thousands separators
  first_grouped: Optional[str] = None

  def is_numeric(self, schema_type: Optional[str]) -> bool:
    if schema_type:
      return schema_type in ('INT', 'FLOAT')
    return self.texts == 0 and self.numbers > 0


@dataclasses.dataclass
class _FileRead:
  header: List[str]
  labels: List[str]  # the label of each row, in order
  stripped: int      # fields that had whitespace around them
  first_column_counts_rows: bool  # the first column is 0, 1, 2, ... (or 1, 2, 3, ...)


def _check_file(path: str, label: str, expected_header: Optional[List[str]],
                schema_types: Dict[str, str], stats: Dict[str, '_ColumnStats'],
                single: bool) -> Optional[_FileRead]:
  """Checks one file; None for a file of no bytes (an empty part), unless it is the only one."""
  with open(path, 'rb') as binary:
    if csv_table.first_bytes_blank(binary):
      if single:
        raise DataError(f'{path}: empty file (expected a header line of column names)')
      return None
  try:
    read = _read_file(path, label, expected_header, schema_types, stats)
  except UnicodeDecodeError:
    raise DataError(not_utf8_message(path)) from None
  except csv.Error as e:
    raise DataError(f'{path}: not a readable CSV file ({e})') from None
  if not read.labels and single:
    raise DataError(f'{path}: no data rows after the header')
  return read


def not_utf8_message(path: str) -> str:
  """Why a file is not UTF-8 text, and what to do: Latin-1 or Windows-1252 text (a
  spreadsheet's export) gets the conversion; anything else is not a text file."""
  with open(path, 'rb') as binary:
    found = csv_table.undecodable_byte(binary)
  with open(path, 'rb') as binary:
    latin1 = csv_table.looks_like_latin1(binary)
  offset, line, byte, around = found if found else (0, 1, 0, b'')
  if latin1:
    shown = around.decode('cp1252', errors='replace').strip()[-40:]
    return (f'{path} line {line}: not UTF-8 text (byte {byte:#04x} in {shown!r}); it looks '
            f'Latin-1 / Windows-1252 encoded: save it as UTF-8 (e.g. iconv -f cp1252 -t utf-8 '
            f'{os.path.basename(path)} > utf8.csv)')
  return f'{path}: not a text CSV file (byte {byte:#04x} at offset {offset} is not UTF-8)'



def _read_file(path: str, label: str, expected_header: Optional[List[str]],
               schema_types: Dict[str, str], stats: Dict[str, '_ColumnStats']) -> _FileRead:
  with open(path, 'rb') as binary, csv_table.text_stream(binary) as f:
    header, records = csv_table.read(f)
    if not any(header):
      raise DataError(f'{path}: empty file (expected a header line of column names)')
    _check_header(path, header, label, expected_header, schema_types)
    label_index = header.index(label)
    for name in header:
      stats.setdefault(name, _ColumnStats())
    labels: List[str] = []
    stripped = 0
    counts_rows = True
    for line, row, row_stripped in records:
      if len(row) != len(header):
        raise DataError(f'{path} line {line}: {len(row)} fields, but the header has '
                        f'{len(header)}')
      if not row[label_index]:
        raise DataError(f'{path} line {line}: label column {label!r} is empty')
      counts_rows = counts_rows and row[0] in (str(len(labels)), str(len(labels) + 1))
      labels.append(row[label_index])
      stripped += row_stripped
      for name, value in zip(header, row):
        _observe(stats[name], value, f'{path} line {line}', name)
  return _FileRead(header, labels, stripped, counts_rows and len(labels) > 1)


def _check_header(path: str, header: List[str], label: str,
                  expected: Optional[List[str]], schema_types: Dict[str, str]) -> None:
  if len(set(header)) != len(header):
    duplicates = sorted({h for h in header if header.count(h) > 1})
    raise DataError(f'{path}: duplicate column names {", ".join(duplicates)}')
  if label not in header:
    delimiter = _other_delimiter(header)
    if delimiter:
      raise DataError(
          f'{path}: the header reads as one column ({header[0][:80]!r}): the file looks '
          f'{delimiter!r}-separated, and tfx-hypertune reads comma-separated files; save it '
          f'with commas between fields (a spreadsheet: CSV UTF-8)')
    raise DataError(f'{path}: label column {label!r} not found '
                    f'(columns: {_abbreviate(header)})')
  if expected is not None and header != expected:
    raise DataError(f'{path}: columns differ from the first file\'s '
                    f'({_abbreviate(header)} vs {_abbreviate(expected)})')


OTHER_DELIMITERS = (';', '\t', '|')


def _other_delimiter(header: List[str]) -> Optional[str]:
  """The separator a one-column header holds, when the file was written with another one."""
  if len(header) != 1:
    return None
  counts = {d: header[0].count(d) for d in OTHER_DELIMITERS}
  delimiter = max(counts, key=counts.get)
  return delimiter if counts[delimiter] else None


# A number written with thousands separators: 1,234 or -12,345.6 (read as text).
GROUPED_NUMBER = re.compile(r'^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$')
# Names pandas and others give a written-out row index.
INDEX_NAMES = ('unnamed: 0', 'index', '')


def _observe(stats: '_ColumnStats', value: str, where: str, column: str) -> None:
  if not value:
    return  # a missing value (empty, or NaN, NA, null): Transform fills it in
  if csv_table.is_infinite(value):
    raise DataError(f'{where}: column {column!r}: {value!r} is not a finite number; remove or '
                    f'clip infinities (missing values may be empty, NaN or NA)')
  if _parses_as_number(value):
    stats.numbers += 1
  else:
    stats.texts += 1
    if stats.first_text is None:
      stats.first_text, stats.first_text_where = value, where
    if GROUPED_NUMBER.match(value):
      stats.grouped_numbers += 1
      stats.first_grouped = stats.first_grouped or value


def _check_text_in_numeric(stats: Dict[str, _ColumnStats], schema_types: Dict[str, str]) -> None:
  for name, column in stats.items():
    if not column.texts:
      continue
    declared_numeric = schema_types.get(name) in ('INT', 'FLOAT')
    mostly_numbers = column.numbers >= NUMERIC_SHARE * (column.numbers + column.texts)
    if declared_numeric or (not schema_types and mostly_numbers):
      why = ('the schema says it is numeric' if declared_numeric else
             f'{column.numbers} of its {column.numbers + column.texts} values are numbers')
      raise DataError(f'{column.first_text_where}: text {column.first_text!r} in numeric '
                      f'column {name!r} ({why})')


def _parses_as_number(value: str) -> bool:
  try:
    float(value)
  except ValueError:
    return False
  return True


def _abbreviate(names: List[str], limit: int = 8) -> str:
  shown = ', '.join(names[:limit])
  return shown + (f', ... ({len(names)} in all)' if len(names) > limit else '')


def read_schema_types(schema_path: str) -> Dict[str, str]:
  """Column -> 'INT' | 'FLOAT' | 'BYTES' from a schema.pbtxt (TensorFlow Metadata)."""
  from google.protobuf import text_format
  from tensorflow_metadata.proto.v0 import schema_pb2
  if not os.path.isfile(schema_path):
    raise DataError(f'schema {schema_path}: not found')
  schema = schema_pb2.Schema()
  try:
    with open(schema_path, encoding='utf-8') as f:
      text_format.Parse(f.read(), schema)
  except text_format.ParseError as e:
    raise DataError(f'schema {schema_path}: not a valid schema ({e})') from None
  return {feature.name: schema_pb2.FeatureType.Name(feature.type) for feature in schema.feature}
