"""Is the tuned model worth the tuning? The pipeline (default settings) against scikit-learn's
LogisticRegression and HistGradientBoosting on exactly the same rows.

    .venv/bin/python bench/quality.py [--datasets digits,wine,breast_cancer,iris] [--markdown]

For each dataset (bundled digits; scikit-learn's wine, breast cancer and iris, written as CSV
to a temporary folder) it runs `hypertune run` with the default configuration, reads the
train / eval / test rows back from the run's ExampleGen output, fits both scikit-learn models
with default settings on train + eval (they need no validation rows; the pipeline uses eval
for early stopping and the search objective) and scores all three on the test rows. Logistic
regression gets a StandardScaler in front (its default solver does not converge on raw
features); HistGradientBoosting takes the raw features. Prints a table with each test accuracy
and the seconds each took.
"""

import argparse
import csv
import glob
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import common  # noqa: E402  (puts the repository on sys.path)

DATASETS = ('digits', 'wine', 'breast_cancer', 'iris')


def write_dataset(name: str, folder: str) -> str:
  """The dataset as <folder>/<name>/<name>.csv with a `label` column; returns the folder."""
  if name == 'digits':
    return os.path.join(common.REPO, 'data', 'digits')
  from sklearn import datasets  # pylint: disable=import-outside-toplevel
  loaded = getattr(datasets, f'load_{name}')()
  out = os.path.join(folder, name)
  os.makedirs(out, exist_ok=True)
  columns = [c.replace(' ', '_').replace('(', '').replace(')', '').replace('/', '_')
             for c in loaded.feature_names]
  with open(os.path.join(out, f'{name}.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(columns + ['label'])
    for features, label in zip(loaded.data, loaded.target):
      writer.writerow([f'{v:.6g}' for v in features] + [int(label)])
  return out


def split_arrays(run_dir: str, label: str = 'label'):
  """{split: (X, y)} from the newest ExampleGen output of a run (raw features, sorted names)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  examples_dirs = sorted(glob.glob(os.path.join(run_dir, 'pipeline_root', 'CsvExampleGen',
                                                'examples', '*')), key=os.path.getmtime)
  arrays = {}
  for split in ('train', 'eval', 'test'):
    rows, labels = [], []
    files = glob.glob(os.path.join(examples_dirs[-1], f'Split-{split}', '*'))
    for record in tf.data.TFRecordDataset(files, compression_type='GZIP').as_numpy_iterator():
      feature = tf.train.Example.FromString(record).features.feature
      names = sorted(n for n in feature if n != label)
      rows.append([(feature[n].float_list.value or feature[n].int64_list.value or [np.nan])[0]
                   for n in names])
      labels.append(feature[label].int64_list.value[0])
    arrays[split] = (np.array(rows, dtype=float), np.array(labels))
  return arrays


def run_pipeline(data_dir: str, output_dir: str):
  started = time.monotonic()
  done = subprocess.run([sys.executable, '-m', 'hypertune.cli', 'run', '--data', data_dir,
                         '--label', 'label', '--output-dir', output_dir],
                        capture_output=True, text=True, check=False)
  seconds = time.monotonic() - started
  if done.returncode != 0:
    raise RuntimeError(f'{data_dir}: hypertune run failed: {done.stderr[-2000:]}')
  accuracy = next(float(line.split()[2]) for line in done.stdout.splitlines()
                  if line.strip().startswith('test accuracy:'))
  return accuracy, seconds


def sklearn_scores(arrays):
  from sklearn.ensemble import HistGradientBoostingClassifier  # pylint: disable=import-outside-toplevel
  from sklearn.linear_model import LogisticRegression  # pylint: disable=import-outside-toplevel
  from sklearn.pipeline import make_pipeline  # pylint: disable=import-outside-toplevel
  from sklearn.preprocessing import StandardScaler  # pylint: disable=import-outside-toplevel
  x = np.concatenate([arrays['train'][0], arrays['eval'][0]])
  y = np.concatenate([arrays['train'][1], arrays['eval'][1]])
  x_test, y_test = arrays['test']
  scores = {}
  for name, model in (('logistic', make_pipeline(StandardScaler(), LogisticRegression())),
                      ('hgb', HistGradientBoostingClassifier())):
    started = time.monotonic()
    model.fit(x, y)
    scores[name] = (float((model.predict(x_test) == y_test).mean()), time.monotonic() - started)
  return scores


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument('--datasets', default=','.join(DATASETS))
  args = parser.parse_args()
  work = tempfile.mkdtemp(prefix='bench-quality-')
  rows = []
  for name in args.datasets.split(','):
    common.log(f'{name}: running the pipeline (default settings)')
    data_dir = write_dataset(name, os.path.join(work, 'data'))
    accuracy, seconds = run_pipeline(data_dir, os.path.join(work, 'runs'))
    run_dir = glob.glob(os.path.join(work, 'runs', f'hypertune-{os.path.basename(data_dir)}'))[0]
    arrays = split_arrays(run_dir)
    scores = sklearn_scores(arrays)
    sizes = '/'.join(str(len(arrays[s][1])) for s in ('train', 'eval', 'test'))
    rows.append((name, sizes, accuracy, seconds, *scores['logistic'], *scores['hgb']))
    common.log(f'{name}: pipeline {accuracy:.4f} ({seconds:.0f}s), logistic '
               f'{scores["logistic"][0]:.4f}, hgb {scores["hgb"][0]:.4f}')
  print(common.machine_line())
  print()
  print('| dataset | rows train/eval/test | pipeline test acc | pipeline s | logistic test acc '
        '| logistic s | HGB test acc | HGB s | goal (>= logistic, >= HGB - 0.01) |')
  print('|---|---|---|---|---|---|---|---|---|')
  for name, sizes, acc, secs, lr, lr_s, hgb, hgb_s in rows:
    goal = 'met' if acc >= lr and acc >= hgb - 0.01 else 'missed'
    print(f'| {name} | {sizes} | {acc:.4f} | {secs:.0f} | {lr:.4f} | {lr_s:.2f} | {hgb:.4f} '
          f'| {hgb_s:.2f} | {goal} |')


if __name__ == '__main__':
  main()
