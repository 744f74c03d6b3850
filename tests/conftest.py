"""Shared test set-up: seeds, quiet logs, and small real data sets written on the fly."""

import csv
import os
import random
import re

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfx_hypertune.pipeline import config as config_lib  # noqa: E402

REPO = str(config_lib.REPO_ROOT)
DIGITS_DIR = str(config_lib.DEFAULT_DATA_DIR)
DIGITS_CSV = os.path.join(DIGITS_DIR, 'digits.csv')


def pytest_configure(config):
  """The warnings a run hides are hidden in the tests too: one list, in the command."""
  from tfx_hypertune.hypertune import cli
  for category, message in cli.IGNORED_WARNINGS:
    config.addinivalue_line('filterwarnings',
                            f'ignore:{re.escape(message)}:{category.__name__}')


# The e2e files, longest first (measured with --durations=0 on 2 cores). `make test` hands
# whole files to two processes in collection order, so the longest ones start first and the
# short ones fill in at the end; a file not listed here runs after these, unit tests last.
LONGEST_FIRST = (
    'test_kubeflow_launcher_e2e.py',   # ~8-10 min: a LocalDagRunner run on the bucket, then
                                       # a launched run (trials on Beam), every task a process
    'test_real_data_e2e.py',           # ~5 min: four datasets in one working directory
    'test_beam_trials_e2e.py',         # ~5 min: one Beam job per search; kills and resumes
    'test_interrupts_e2e.py',          # ~3 min
    'test_trial_stopping_e2e.py',      # ~2 min: three searches, one on Beam
    'test_penguin_pipeline_e2e.py',
    'test_tuner_kinds_e2e.py',
    'test_stock_tuner_tests.py',
    'test_spans_retune_e2e.py',
    'test_regression_e2e.py',
    'test_tuner_component_e2e.py',
    'test_algorithms_e2e.py',
    'test_digits_e2e.py',
    'test_imbalanced_e2e.py',
    'test_portable_beam_e2e.py',
)


def pytest_collection_modifyitems(items):
  def rank(item):
    name = os.path.basename(str(item.fspath))
    if name in LONGEST_FIRST:
      return LONGEST_FIRST.index(name)
    return len(LONGEST_FIRST) + (0 if '/e2e/' in str(item.fspath) else 1)
  items.sort(key=rank)  # stable: a file's tests keep their order


@pytest.fixture(autouse=True)
def _seeded():
  random.seed(0)
  np.random.seed(0)


def write_csv(path, header, rows):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(header)
    writer.writerows(rows)
  return path


def read_digits_rows(limit=None):
  with open(DIGITS_CSV, newline='') as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = [row for _, row in zip(range(limit or 10**9), reader)]
  return header, rows


def pets_rows(n=400, seed=0):
  """A small learnable CSV with a string feature and a string label: the label follows from
  `size` and `color`, with some noise. Row 3 lacks `size`, row 5 lacks `color`."""
  rng = random.Random(seed)
  colors = ['black', 'white', 'ginger']
  rows = []
  for i in range(n):
    color = rng.choice(colors)
    size = rng.uniform(0, 10)
    weight = size * 2 + rng.gauss(0, 1)
    label = 'bird' if size < 3 else ('cat' if color != 'black' or size < 6 else 'dog')
    row = [f'{size:.3f}', f'{weight:.3f}', color, label]
    if i == 3:
      row[0] = ''
    if i == 5:
      row[2] = ''
    rows.append(row)
  return ['size', 'weight', 'color', 'animal'], rows


KFP_IMAGE = 'registry.example/tfx-hypertune:1'


@pytest.fixture(scope='session')
def compiled_kfp(tmp_path_factory):
  """`hypertune compile` for a bucket root and bucket data, for Vertex and for open-source
  KFP: (the Vertex PipelineJob JSON, the KFP spec YAML)."""
  from tfx_hypertune.hypertune import cli
  out = tmp_path_factory.mktemp('kfp')
  for target in ('vertex', 'kfp'):
    assert cli.main(['compile', '--target', target, '--image', KFP_IMAGE,
                     '--pipeline-root', 'gs://bucket/root', '--pipeline-name', 'hypertune-digits',
                     '--data', 'gs://bucket/data', '--max-epochs', '4', '--out', str(out)]) == 0
  return str(out / 'hypertune-digits.json'), str(out / 'hypertune-digits.yaml')


@pytest.fixture(scope='session')
def transformed_digits(tmp_path_factory):
  """Our preprocessing_fn over 600 digits rows through real tf.Transform (Beam DirectRunner),
  written as the Transform component writes its outputs: transformed train and eval examples
  (gzipped TFRecords under Split-train/ and Split-eval/) and the transform graph. For tests that
  need transformed data (a Tuner search, a Trainer) without running a pipeline.
  Returns {'examples': uri, 'transform_graph': uri, 'splits': ['train', 'eval']}."""
  import apache_beam as beam
  import tensorflow as tf
  import tensorflow_transform as tft
  import tensorflow_transform.beam as tft_beam
  from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils
  from tfx_hypertune.model import transform
  out = tmp_path_factory.mktemp('transformed-digits')
  header, rows = read_digits_rows(600)
  spec = {name: tf.io.FixedLenFeature([1], tf.int64 if name == 'label' else tf.float32)
          for name in header}
  records = [{name: [int(v) if name == 'label' else float(v)] for name, v in zip(header, row)}
             for row in rows]
  splits = {'train': records[:450], 'eval': records[450:]}
  metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(spec))
  fn = lambda inputs: transform.preprocessing_fn(inputs, {'label': 'label'})  # noqa: E731
  with tft_beam.Context(temp_dir=str(out / 'tmp')), beam.Pipeline() as pipeline:
    transform_fn = ((pipeline | 'Train' >> beam.Create(splits['train']), metadata)
                    | tft_beam.AnalyzeDataset(fn))
    _ = transform_fn | tft_beam.WriteTransformFn(str(out / 'transform_graph'))
    for name, split in splits.items():
      transformed, transformed_metadata = (
          ((pipeline | f'Read{name}' >> beam.Create(split), metadata), transform_fn)
          | f'Transform{name}' >> tft_beam.TransformDataset(output_record_batches=False))
      coder = tft.coders.ExampleProtoCoder(transformed_metadata.schema)
      _ = (transformed | f'Encode{name}' >> beam.Map(coder.encode)
           | f'Write{name}' >> beam.io.WriteToTFRecord(
               str(out / 'examples' / f'Split-{name}' / 'transformed_examples'),
               file_name_suffix='.gz'))
  metadata_io.write_metadata(metadata, str(out / 'transform_graph' / 'metadata'))  # the raw schema
  return {'examples': str(out / 'examples'), 'transform_graph': str(out / 'transform_graph'),
          'splits': list(splits)}
