"""Benchmark 3: the whole local pipeline against a bare Keras Tuner script doing the same work.

Pipeline: `hypertune run` on the bundled digits, default settings, fresh output folder (no
cache), as a subprocess. Bare: this file with --bare, as a subprocess (its wall time less
the import of TFX, which only our harness needs): reads the same CSV with
NumPy, z-scores it, runs the same Hyperband search (our search_config.make_tuner, same space, seed,
early stopping) on the same 70/15 split sizes and trains the final model with the best
hyperparameters: the floor, training itself plus Python start-up. Alternating, repeated; the
ratio is pipeline / bare, and each component's time comes from the pipeline's own progress.

    .venv/bin/python bench/pipeline_overhead.py [--repeats 1]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import common  # noqa: E402


def bare() -> None:
  """The same search and final training in one process, data in memory."""
  started = time.monotonic()
  import keras
  import keras_tuner
  del keras_tuner  # imported for its start-up cost only
  imported = time.monotonic()
  # Our model and tuner code import TFX (TunerFnResult); a bare script would not, so that
  # import is timed apart and taken off the bare script's total.
  import search_efficiency as se
  from tfx_hypertune.components.tuner import search as search_api
  from tfx_hypertune.model import search_config
  harness = time.monotonic() - imported
  imported = time.monotonic()
  data = se.splits(*se.digits(), 0)
  points, tuner = se.run_search('hyperband', data, 42, 1)
  searched = time.monotonic()
  inputs, train, valid, _ = data
  search = se.search_settings('hyperband', 1)
  best = tuner.get_best_hyperparameters(1)[0]
  keras.utils.set_random_seed(42)
  final = tuner.hypermodel.build(best)
  final.fit(train[0], train[1], validation_data=valid, batch_size=search['batch_size'],
            epochs=best.values.get('tuner/epochs', search['max_epochs']), verbose=0,
            callbacks=search_config.search_callbacks(search))
  print(json.dumps({'imports': imported - started - harness, 'harness_imports': harness,
                    'search': searched - imported,
                    'final_training': time.monotonic() - searched, 'trials': len(points),
                    'best': search_api.active_values(best)}))


def run_bare(log_path):
  started = time.monotonic()
  with open(log_path, 'w') as log_file:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), '--bare'], check=True,
                         stdout=subprocess.PIPE, stderr=log_file, text=True).stdout
  parts = json.loads(out.strip().splitlines()[-1])
  return time.monotonic() - started - parts['harness_imports'], parts


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--bare', action='store_true', help=argparse.SUPPRESS)
  parser.add_argument('--repeats', type=int, default=1)
  args = parser.parse_args()
  if args.bare:
    bare()
    return
  work = tempfile.mkdtemp(prefix='bench-overhead-')
  pipeline_runs, bare_runs = [], []
  for repeat in range(args.repeats):
    common.log(f'== repeat {repeat + 1}/{args.repeats}: hypertune run')
    out = os.path.join(work, f'runs-{repeat}')
    pipeline_runs.append(common.run_pipeline(['--output-dir', out],
                                             os.path.join(work, f'pipeline-{repeat}.log')))
    common.log(f'   {pipeline_runs[-1][0]:.0f}s; bare Keras Tuner script')
    bare_runs.append(run_bare(os.path.join(work, f'bare-{repeat}.log')))
    common.log(f'   {bare_runs[-1][0]:.0f}s {json.dumps(bare_runs[-1][1])}')
  print('\n' + common.machine_line(f'{args.repeats} alternating repeat(s); default settings '
                                   '(Hyperband max_epochs 10, factor 3, 30 trials)') + '\n')
  ratios = [p[0] / b[0] for p, b in zip(pipeline_runs, bare_runs)]
  print(f'pipeline {statistics.median(p[0] for p in pipeline_runs):.0f}s, bare script '
        f'{statistics.median(b[0] for b in bare_runs):.0f}s: ratio '
        f'{", ".join(f"{r:.2f}" for r in ratios)} (per repeat; target <= 1.4)\n')
  bare_parts = bare_runs[0][1]
  print('| part | pipeline s | bare script s |')
  print('|---|---|---|')
  wall, components, _, _ = pipeline_runs[0]
  print(f'| start-up: imports (+ data check in the pipeline) | '
        f'{wall - sum(components.values()):.1f} (incl. summary) | {bare_parts["imports"]:.1f} |')
  for name, seconds in components.items():
    bare_seconds = {'Tuner': f'{bare_parts["search"]:.1f}',
                    'Trainer': f'{bare_parts["final_training"]:.1f}'}.get(name, '-')
    print(f'| {name} | {seconds:.1f} | {bare_seconds} |')
  print(f'| total (wall) | {wall:.1f} | {bare_runs[0][0]:.1f} |')


if __name__ == '__main__':
  main()
