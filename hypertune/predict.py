"""`hypertune predict`: score raw CSV rows with a pushed model, the way a client would.

The CSV rows become serialized tf.Examples (column types from the model's request spec) and
go through the `serving_default` signature, transform graph included.
"""

from __future__ import annotations

import csv
import json
import os
from typing import Dict, Iterator, List, Optional, TextIO, Tuple

from tfx_hypertune.components import csv_table, serving
from tfx_hypertune.hypertune import data_check
from tfx_hypertune.hypertune.data_check import DataError

BATCH_SIZE = 256


def resolve_model_dir(model_dir: str) -> str:
  """A SavedModel directory, or a serving directory of timestamped versions (newest wins)."""
  if serving.is_saved_model(model_dir):
    return model_dir
  if not os.path.isdir(model_dir):
    raise DataError(f'model {model_dir}: not found')
  versions = serving.model_versions(model_dir)
  if not versions:
    raise DataError(f'model {model_dir}: neither a SavedModel nor a folder of model versions')
  return versions[0]


def predict_csv(model_dir: str, csv_path: str, out: TextIO) -> Dict[str, float]:
  """Writes `predicted_label,probability` per row (a classifier) or `predicted_value` (a
  regression model); returns accuracy, or MAE and RMSE, when the CSV has the label."""
  import tensorflow as tf
  from tfx_hypertune.model import network as model_lib
  model_dir = resolve_model_dir(model_dir)
  with open(os.path.join(model_dir, model_lib.REQUEST_SPEC_FILE)) as f:
    spec = json.load(f)
  serve = tf.saved_model.load(model_dir).signatures['serving_default']
  regression = 'predicted_value' in serve.structured_outputs
  writer = csv.writer(out)
  writer.writerow(['predicted_value'] if regression else ['predicted_label', 'probability'])
  scorer = _ErrorScore(csv_path) if regression else _AccuracyScore()
  for examples, labels in _batches(csv_path, spec):
    result = serve(examples=tf.constant(examples))
    if regression:
      for value, truth in zip(result['predicted_value'].numpy(), labels):
        writer.writerow([f'{value:.6g}'])
        scorer.add(float(value), truth)
    else:
      for predicted, probability, truth in zip(result['label'].numpy(),
                                               result['probability'].numpy(), labels):
        writer.writerow([predicted.decode(), f'{probability:.6f}'])
        scorer.add(predicted.decode(), truth)
  return scorer.result()


class _AccuracyScore:

  def __init__(self):
    self.correct = self.total = 0

  def add(self, predicted: str, truth: Optional[str]) -> None:
    if truth is not None:
      self.total += 1
      self.correct += int(predicted == truth)

  def result(self) -> Dict[str, float]:
    return {'accuracy': self.correct / self.total} if self.total else {}


class _ErrorScore:
  """MAE and RMSE against the rows' label values (rows without one are left out)."""

  def __init__(self, csv_path: str):
    self.csv_path = csv_path
    self.absolute = self.squared = 0.0
    self.total = 0

  def add(self, predicted: float, truth: Optional[str]) -> None:
    if truth is None:
      return
    try:
      error = predicted - float(truth)
    except ValueError:
      raise DataError(f'{self.csv_path}: label value {truth!r} is not a number') from None
    self.total += 1
    self.absolute += abs(error)
    self.squared += error * error

  def result(self) -> Dict[str, float]:
    if not self.total:
      return {}
    return {'mae': self.absolute / self.total, 'rmse': (self.squared / self.total) ** 0.5}


def _batches(csv_path: str, spec: Dict) -> Iterator[Tuple[List[bytes], List[Optional[str]]]]:
  """Serialized tf.Examples of the CSV rows, BATCH_SIZE at a time, with each row's label (None
  where the CSV has no label column or the cell is empty). The rows are read as the pipeline
  read its data (components/csv_table.py: unnamed columns, missing spellings, whitespace)."""
  if not os.path.isfile(csv_path):
    raise DataError(f'{csv_path}: not found')
  try:
    yield from _read_batches(csv_path, spec)
  except UnicodeDecodeError:
    raise DataError(data_check.not_utf8_message(csv_path)) from None


def _read_batches(csv_path: str, spec: Dict) -> Iterator[Tuple[List[bytes], List[Optional[str]]]]:
  with open(csv_path, 'rb') as binary, csv_table.text_stream(binary) as f:
    header, records = csv_table.read(f)
    if not header:
      raise DataError(f'{csv_path}: empty file (expected a header line of column names)')
    missing = [name for name in spec['features'] if name not in header]
    if missing:
      raise DataError(f'{csv_path}: columns the model needs are missing: {", ".join(missing)}')
    examples, labels = [], []
    for line, cells, _ in records:
      row = dict(zip(header, cells))
      examples.append(_to_example(row, spec['features'], csv_path, line))
      labels.append(row.get(spec['label']) or None)
      if len(examples) == BATCH_SIZE:
        yield examples, labels
        examples, labels = [], []
    if examples:
      yield examples, labels


def _to_example(row: Dict[str, str], kinds: Dict[str, str], path: str, line: int) -> bytes:
  import tensorflow as tf
  feature = {}
  for name, kind in kinds.items():
    value = (row.get(name) or '').strip()
    if not value:
      continue  # missing: the transform graph fills it in
    try:
      if kind == 'int':
        feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(float(value))]))
      elif kind == 'float':
        feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))
      else:
        feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
    except ValueError:
      raise DataError(f'{path} line {line}: text {value!r} in numeric column {name!r}') from None
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
