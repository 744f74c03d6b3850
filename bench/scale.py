"""Benchmark 6: the pipeline on synthetic data grown from digits to 10x and 100x rows.

Each size is a CSV generated here (never committed): digits rows repeated with each pixel
jittered by -1..+1 (clipped to 0..16), so every row is new data of the same kind. The pipeline
runs as `hypertune run` (curated digits schema, a small search budget so the data steps are
what grows), in a subprocess whose process tree's resident memory is sampled every 0.25 s and
attributed to the component running at the time.

    .venv/bin/python bench/scale.py                    # 1x and 10x (quick)
    .venv/bin/python bench/scale.py --sizes 1,10,100   # as in BENCHMARKS.md
"""

import argparse
import csv
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import common  # noqa: E402

DIGITS = os.path.join(common.REPO, 'data', 'digits')
BUDGET = ['--max-epochs', '2', '--accuracy-threshold', '0.5']


def grow(folder, factor, seed=0):
  with open(os.path.join(DIGITS, 'digits.csv'), newline='') as f:
    rows = list(csv.reader(f))
  header, body = rows[0], np.array(rows[1:], dtype=np.int64)
  label = header.index('label')
  rng = np.random.default_rng(seed)
  os.makedirs(folder, exist_ok=True)
  shutil.copy(os.path.join(DIGITS, 'schema.pbtxt'), folder)
  with open(os.path.join(folder, 'digits.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(header)
    for copy in range(factor):
      block = body.copy()
      if copy:
        pixels = np.delete(np.arange(block.shape[1]), label)
        block[:, pixels] = np.clip(block[:, pixels] + rng.integers(-1, 2, block[:, pixels].shape),
                                   0, 16)
      writer.writerows(block.tolist())
  return len(body) * factor


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--sizes', default='1,10')
  args = parser.parse_args()
  work = tempfile.mkdtemp(prefix='bench-scale-')
  measured = {}
  for factor in (int(s) for s in args.sizes.split(',')):
    data = os.path.join(work, f'digits-x{factor}')
    rows = grow(data, factor)
    size = os.path.getsize(os.path.join(data, 'digits.csv')) / 2**20
    common.log(f'== {factor}x: {rows} rows, {size:.1f} MB')
    measured[factor] = (rows, *common.run_pipeline(
        ['--data', data, '--output-dir', os.path.join(work, f'runs-x{factor}'), *BUDGET],
        os.path.join(work, f'x{factor}.log')))
    shutil.rmtree(data)  # keep the disk free; the runs stay for inspection
    common.log(f'   {measured[factor][1]:.0f}s, peak {measured[factor][4] / 2**30:.2f} GB')
  print('\n' + common.machine_line(f'budget {" ".join(BUDGET)}; memory = peak resident set '
                                   'of the pipeline process and its children') + '\n')
  factors = list(measured)
  components = list(measured[factors[0]][2])
  print('| component | ' + ' | '.join(f'{f}x: s / peak MB' for f in factors) + ' |')
  print('|---|' + '---|' * len(factors))
  for name in ['start-up (imports, data check)', *components]:
    cells = []
    for f in factors:
      seconds = measured[f][2].get(name)
      peak = measured[f][3].get(name, 0) / 2**20
      cells.append(f'{seconds:.1f} / {peak:.0f}' if seconds is not None else f'- / {peak:.0f}')
    print(f'| {name} | ' + ' | '.join(cells) + ' |')
  print('| **total wall** | ' + ' | '.join(
      f'{measured[f][1]:.0f} s / {measured[f][4] / 2**20:.0f}' for f in factors) + ' |')
  print('| rows | ' + ' | '.join(str(measured[f][0]) for f in factors) + ' |')


if __name__ == '__main__':
  main()
