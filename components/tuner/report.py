"""The trial report: the trial table (trial_table.py) rendered as trials.csv, plots, one HTML page
with findings in plain words, and TensorBoard HParams logs.

    <tuner_results>/
      trials.csv                  one row per trial
      report.html                 the plots, the findings and the best trials, in one page
      objective_by_trial.png      the objective of each trial, in the order they ran
      objective_vs_size.png       the objective against trainable parameters
      epochs_to_target.png        epochs to come within 2% of the best, against size
      brackets.png                successive halving: configurations each round kept
      hyperparameter_effects.png  the objective against each hyperparameter
      pareto_front.png            the objective against size and against time per epoch
      tensorboard/                HParams logs: `tensorboard --logdir tensorboard`

Every plot and finding is in the objective's own name and direction (the oracle's), and names
only what the trials recorded: nothing here knows a model.
"""

from __future__ import annotations

import dataclasses
import html
import io
import json
from typing import Any, Dict, List, Optional

from tfx_hypertune.components.tuner import files, trial_stats, trial_table, trials

PLOTS = {
    'objective_by_trial.png': '{objective} of each trial',
    'objective_vs_size.png': '{objective} against model size',
    'epochs_to_target.png': 'Epochs needed to come within 2% of the best {objective}',
    'brackets.png': 'Successive halving: configurations each round kept',
    'hyperparameter_effects.png': '{objective} against each hyperparameter',
    'pareto_front.png': 'Trade-offs: {objective} against size and against time per epoch',
}
# At most this many hyperparameters get a panel in hyperparameter_effects.png.
MAX_EFFECT_PANELS = 9
# "Reaching the target": within 2% of the best value found (0.98 x the best for a metric that
# goes up, the best / 0.98 for one that goes down).
TARGET_FRACTION = 0.98


@dataclasses.dataclass(frozen=True)
class Metric:
  """What the report plots and ranks by: the search's objective."""
  name: str
  higher_is_better: bool

  @property
  def axis(self) -> str:
    return f'{self.name} ({"higher" if self.higher_is_better else "lower"} is better)'

  @property
  def direction(self) -> str:
    return 'max' if self.higher_is_better else 'min'

  def best(self, values: List[float]) -> float:
    return max(values) if self.higher_is_better else min(values)

  def target(self, best: float) -> float:
    return best * TARGET_FRACTION if self.higher_is_better else best / TARGET_FRACTION

  def reached(self, value: float, target: float) -> bool:
    return value >= target if self.higher_is_better else value <= target


def epochs_to_target(item: Dict[str, Any], target: float, metric: Metric) -> Optional[int]:
  """First (absolute) epoch at which the trial's objective reached the target."""
  stats = item['stats']
  values = trial_stats.epoch_values(stats, metric.name) or []
  for epoch, value in zip(stats.get('epochs') or [], values):
    if value is not None and metric.reached(value, target):
      return epoch
  return None


def write_report(project_dir: str, out_dir: str, carried_over: Optional[List[Dict]],
                 objective: str, direction: str, chosen: Optional[Dict[str, Any]] = None) -> str:
  """Writes trials.csv, the plots, report.html and TensorBoard logs; returns the HTML path.
  `objective` and `direction` are the oracle's (oracle.objective), never assumed."""
  table = trial_table.build(project_dir, objective, direction)
  files.write_text(files.join(out_dir, files.TRIALS_CSV), table.csv_text())
  metric = Metric(objective, direction == 'max')
  completed = [(item, row) for item, row in zip(table.items, table.rows)
               if trials.is_completed(row['status']) and row[metric.name] is not None]
  values = [row[metric.name] for _, row in completed]
  target = round(metric.target(metric.best(values)), 4) if values else 0.0
  _plot_all(out_dir, table, completed, target, metric, (chosen or {}).get('trial_id'))
  write_tensorboard(files.join(out_dir, files.TENSORBOARD_DIR), table)
  path = files.join(out_dir, files.REPORT_HTML)
  files.write_text(path, _html(table, completed, target, metric, carried_over or [],
                               chosen or {}))
  return path


# ---------------------------------------------------------------------------------------------
# Plots


def plot_titles(metric: Metric) -> Dict[str, str]:
  return {name: title.format(objective=metric.name) for name, title in PLOTS.items()}


def pareto_front(rows: List[Dict[str, Any]], cost: str, metric: Metric) -> List[Dict[str, Any]]:
  """The trials no other trial beats on both the objective and `cost` (trainable_parameters
  or seconds_per_epoch), cheapest first: the choices worth making between size (or speed) and
  quality. Rows without the cost are left out."""
  sign = 1 if metric.higher_is_better else -1
  front: List[Dict[str, Any]] = []
  for row in sorted((r for r in rows if r.get(cost) and r[metric.name] is not None),
                    key=lambda r: (r[cost], -sign * r[metric.name])):
    if not front or sign * (row[metric.name] - front[-1][metric.name]) > 0:
      front.append(row)
  return front


def _pareto_panels(plt, rows, metric: Metric, chosen_id: Optional[str]):
  """Every completed trial, its Pareto front joined up, and the trial the Trainer gets
  ringed, against trainable parameters and against seconds per epoch."""
  fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.0), dpi=100, squeeze=False)
  for ax, (cost, label) in zip(axes[0], (('trainable_parameters', 'trainable parameters'),
                                         ('seconds_per_epoch', 'seconds per epoch'))):
    known = [r for r in rows if r.get(cost) and r[metric.name] is not None]
    ax.scatter([r[cost] for r in known], [r[metric.name] for r in known], s=18, c='#bbb',
               label='trials')
    front = pareto_front(rows, cost, metric)
    ax.plot([r[cost] for r in front], [r[metric.name] for r in front], '-o', ms=4,
            label='Pareto front')
    chosen = [r for r in known if r['trial_id'] == chosen_id]
    if chosen:
      ax.scatter([chosen[0][cost]], [chosen[0][metric.name]], s=160, facecolors='none',
                 edgecolors='red', linewidths=2, label=f'trained: trial {chosen_id}')
    ax.set_xscale('log')
    ax.set_xlabel(f'{label} (log scale)')
    ax.set_ylabel(metric.axis)
    ax.grid(alpha=0.3)
    ax.legend(loc='best', fontsize=8)
  fig.suptitle(plot_titles(metric)['pareto_front.png'], fontsize=11)
  return fig


def _plot_all(out_dir: str, table: trial_table.TrialTable, completed, target: float,
              metric: Metric, chosen_id: Optional[str] = None) -> None:
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  rows = [row for _, row in completed]
  plotters = {
      'objective_by_trial.png': lambda ax: _metric_by_trial(ax, rows, metric),
      'objective_vs_size.png': lambda ax: _metric_vs_size(ax, rows, metric),
      'epochs_to_target.png': lambda ax: _epochs_to_target(ax, completed, target, metric),
      'brackets.png': lambda ax: _brackets(ax, rows),
  }
  titles = plot_titles(metric)
  for name, plot in plotters.items():
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    _draw(plt, fig, ax, plot, titles[name], out_dir, name)
  _save(plt, _hyperparameter_effects(plt, table, rows, metric), out_dir,
        'hyperparameter_effects.png')
  _save(plt, _pareto_panels(plt, rows, metric, chosen_id), out_dir, 'pareto_front.png')


def _draw(plt, fig, ax, plot, title: str, out_dir: str, name: str) -> None:
  plot(ax)
  ax.set_title(title, fontsize=11)
  ax.grid(alpha=0.3)
  _save(plt, fig, out_dir, name)


def _save(plt, fig, out_dir: str, name: str) -> None:
  fig.tight_layout()
  image = io.BytesIO()
  fig.savefig(image, format='png')
  plt.close(fig)
  files.write_bytes(files.join(out_dir, name), image.getvalue())


def _hyperparameter_effects(plt, table: trial_table.TrialTable, rows, metric: Metric):
  """One panel per hyperparameter: the objective of every completed trial against its value
  (choices and text on a categorical axis), whatever the hyperparameters are called."""
  names = sorted({k for r in rows for k in table.values_of(r)})
  names = names[:MAX_EFFECT_PANELS] or ['(none)']
  columns = min(3, len(names))
  lines = -(-len(names) // columns)
  fig, axes = plt.subplots(lines, columns, figsize=(3.4 * columns, 2.8 * lines), dpi=100,
                           squeeze=False)
  for ax in axes.flat[len(names):]:
    ax.set_visible(False)
  for ax, name in zip(axes.flat, names):
    points = [(r[name], r[metric.name]) for r in rows
              if r.get(name) is not None and r[metric.name] is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v, _ in points)
    if points and not numeric:
      order = sorted({str(v) for v, _ in points})
      points = [(order.index(str(v)), y) for v, y in points]
      ax.set_xticks(range(len(order)), order, fontsize=8)
    if points:
      ax.scatter(*zip(*points), s=18)
    ax.set_xlabel(name)
    ax.set_ylabel(metric.name, fontsize=8)
    ax.grid(alpha=0.3)
  fig.suptitle(f'{metric.axis} against each hyperparameter', fontsize=11)
  return fig


def _metric_by_trial(ax, rows, metric: Metric) -> None:
  xs = list(range(len(rows)))
  ax.scatter(xs, [r[metric.name] for r in rows], c=[r['epochs_run'] for r in rows],
             cmap='viridis', s=22)
  if rows:
    best = _best_index(rows, metric)
    ax.scatter([best], [rows[best][metric.name]], marker='*', s=180, c='red',
               label=f'best: trial {rows[best]["trial_id"]}')
    ax.legend(loc='best')
  ax.set_xlabel('trial (in the order run; colour: epochs trained)')
  ax.set_ylabel(metric.axis)


def _best_index(rows, metric: Metric) -> int:
  values = [r[metric.name] for r in rows]
  return values.index(metric.best(values))


def _metric_vs_size(ax, rows, metric: Metric) -> None:
  sized = [r for r in rows if r['trainable_parameters']]
  ax.scatter([r['trainable_parameters'] for r in sized], [r[metric.name] for r in sized],
             c=[r['epochs_run'] for r in sized], cmap='viridis', s=22)
  ax.set_xscale('log')
  ax.set_xlabel('trainable parameters (log scale; colour: epochs trained)')
  ax.set_ylabel(metric.axis)


def _epochs_to_target(ax, completed, target: float, metric: Metric) -> None:
  from matplotlib.ticker import MaxNLocator
  reached, missed = [], []
  for item, row in completed:
    if not row['trainable_parameters']:
      continue
    epochs = epochs_to_target(item, target, metric)
    (reached if epochs else missed).append((row['trainable_parameters'],
                                            epochs or row['epochs_run']))
  if reached:
    ax.scatter(*zip(*reached), s=22, label=f'reached {target:.4g}')
  if missed:
    ax.scatter(*zip(*missed), marker='x', s=22, c='grey',
               label='did not reach it (epochs run)')
  ax.set_xscale('log')
  ax.set_xlabel('trainable parameters (log scale)')
  ax.set_ylabel('epoch')
  ax.yaxis.set_major_locator(MaxNLocator(integer=True))
  ax.legend(loc='upper right')


def _brackets(ax, rows) -> None:
  brackets = sorted({r['bracket'] for r in rows if r['bracket'] is not None}, reverse=True)
  if not brackets:
    ax.text(0.5, 0.5, 'no successive halving in this search', ha='center', va='center')
    return
  width = 0.8 / len(brackets)
  for i, bracket in enumerate(brackets):
    rounds = sorted({r['round'] for r in rows if r['bracket'] == bracket})
    counts = [sum(1 for r in rows if r['bracket'] == bracket and r['round'] == n)
              for n in rounds]
    ax.bar([n + i * width for n in rounds], counts, width=width, label=f'bracket {bracket}')
  ax.set_xlabel('round (each trains the survivors of the previous one for longer)')
  ax.set_ylabel('configurations')
  ax.legend(loc='upper right')


# ---------------------------------------------------------------------------------------------
# TensorBoard HParams


def write_tensorboard(log_dir: str, table: trial_table.TrialTable) -> None:
  """Per trial: its hyperparameters, and each recorded metric per epoch."""
  import tensorflow as tf
  from tensorboard.plugins.hparams import api as hparams_api
  for item, row in zip(table.items, table.rows):
    writer = tf.summary.create_file_writer(files.join(log_dir, f'trial_{row["trial_id"]}'))
    with writer.as_default():
      hparams_api.hparams(table.values_of(row), trial_id=row['trial_id'])
      stats = item['stats']
      for name, values in (stats.get('metrics') or {}).items():
        for epoch, value in zip(stats.get('epochs') or [], values):
          if value is not None:
            tf.summary.scalar(name, value, step=epoch)
    writer.close()


# ---------------------------------------------------------------------------------------------
# HTML


def _html(table: trial_table.TrialTable, completed, target: float, metric: Metric,
          carried_over: List[Dict], chosen: Dict[str, Any]) -> str:
  ranked = trial_table.best_first(table, metric.direction)
  findings = _findings(table, completed, target, metric) + _front_findings(
      [row for _, row in completed], metric)
  parts = [
      '<!doctype html><meta charset="utf-8"><title>tfx-hypertune trial report</title>',
      '<style>body{font-family:sans-serif;max-width:1100px;margin:auto}'
      'table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;'
      'padding:2px 6px;text-align:right}img{width:48%;margin:1%}</style>',
      '<h1>Trial report</h1>',
      f'<p>{len(table.rows)} trials, {len(completed)} completed; objective '
      f'{html.escape(metric.name)}. Target {html.escape(metric.name)} for "epochs to target": '
      f'{target:.4f} (within {1 - TARGET_FRACTION:.0%} of the best; {metric.axis}).</p>',
      '<ul>' + ''.join(f'<li>{html.escape(f)}</li>' for f in findings) + '</ul>',
  ]
  if chosen.get('rule', 'best') != 'best':
    parts.append(f'<h2>The trial the Trainer gets</h2><p>{html.escape(chosen["reason"])}</p>')
  if carried_over:
    parts.append('<h2>Warm start</h2><p>Tried first, carried over from the previous search: '
                 + '; '.join(html.escape(json.dumps({**c, 'values': _rounded(c['values'])}))
                             for c in carried_over) + '</p>')
  parts += [f'<img src="{name}" alt="{html.escape(title)}">'
            for name, title in plot_titles(metric).items()]
  parts.append('<h2>Best trials</h2>' + _table(ranked[:15]))
  failed = [row for row in table.rows if trials.is_failed(row['status'])]
  if failed:
    parts.append('<h2>Failed trials</h2><p>The error of each (the whole traceback is in its '
                 'trial folder\'s trial_error.log):</p><ul>' + ''.join(
                     f'<li>trial {html.escape(str(r["trial_id"]))} ({html.escape(r["status"])}'
                     f'{", on " + html.escape(r["worker"]) if r["worker"] else ""}): '
                     f'{html.escape(r["error"] or "")}</li>' for r in failed) + '</ul>')
  parts.append(f'<p>All trials: <a href="{files.TRIALS_CSV}">{files.TRIALS_CSV}</a>. '
               'TensorBoard: <code>tensorboard --logdir tensorboard</code> (HParams tab).</p>')
  return '\n'.join(parts)


def _findings(table: trial_table.TrialTable, completed, target: float,
              metric: Metric) -> List[str]:
  """Plain answers to the questions tuning is for, from the completed trials."""
  rows = [row for _, row in completed if row['trainable_parameters']]
  if len(rows) < 2:
    return []
  name = metric.name
  best = rows[_best_index(rows, metric)]
  by_size = sorted(rows, key=lambda r: r['trainable_parameters'])
  small = by_size[:len(by_size) // 2]
  best_small = small[_best_index(small, metric)]
  findings = [
      f'Best: trial {best["trial_id"]}, {name} {best[name]:.4f} with '
      f'{best["trainable_parameters"]:,} parameters '
      f'({json.dumps(_rounded(table.values_of(best)))}).',
      f'Smaller models: the best of the smaller half of models '
      f'(<= {small[-1]["trainable_parameters"]:,} parameters) reached '
      f'{best_small[name]:.4f}'
      + (' - it is the best model overall.' if best_small is best else
         f', {best_small[name] - best[name]:+.4f} from the best, with '
         f'{best_small["trainable_parameters"]:,} parameters.'),
  ]
  speed = [r for r in rows if r['seconds_per_epoch']]
  if len(speed) >= 2:
    half = len(speed) // 2
    by_params = sorted(speed, key=lambda r: r['trainable_parameters'])
    small_s = sum(r['seconds_per_epoch'] for r in by_params[:half]) / half
    large_s = sum(r['seconds_per_epoch'] for r in by_params[half:]) / (len(speed) - half)
    findings.append(f'Speed: an epoch took {small_s:.3f} s on average for the smaller half of '
                    f'models and {large_s:.3f} s for the larger half.')
  reached = [(epochs_to_target(item, target, metric), row['trainable_parameters'])
             for item, row in completed]
  reached = [(e, p) for e, p in reached if e]
  if reached:
    epochs, parameters = min(reached)
    size = f' with {parameters:,} parameters' if parameters else ''
    findings.append(f'Convergence: {len(reached)} of {len(completed)} trials came within 2% '
                    f'of the best ({target:.4f}); the fastest by epoch {epochs}{size}.')
  return findings


def _front_findings(rows, metric: Metric) -> List[str]:
  """The Pareto fronts in words: how much smaller (faster) a model costs in the objective."""
  findings = []
  for cost, what in (('trainable_parameters', 'parameters'), ('seconds_per_epoch', 's/epoch')):
    front = pareto_front(rows, cost, metric)
    if len(front) < 2:
      continue
    cheapest, best = front[0], front[-1]
    findings.append(
        f'Trade-off ({what}): {len(front)} trials are on the Pareto front; the cheapest, trial '
        f'{cheapest["trial_id"]} ({_fmt(cheapest[cost])} {what}), is '
        f'{abs(best[metric.name] - cheapest[metric.name]):.4f} from the best of them, trial '
        f'{best["trial_id"]} ({_fmt(best[cost])} {what}, '
        f'{best[cost] / cheapest[cost]:.1f}x the cost).')
  return findings


def _rounded(values: Dict[str, Any]) -> Dict[str, Any]:
  """Floats at 6 significant digits (a dropout of 0.3, not 0.30000000000000004)."""
  return {k: float(f'{v:.6g}') if isinstance(v, float) else v for k, v in values.items()}


def _table(rows: List[Dict[str, Any]]) -> str:
  if not rows:
    return '<p>(no completed trials)</p>'
  columns = [c for c in rows[0] if c not in ('status',)]
  head = ''.join(f'<th>{html.escape(c)}</th>' for c in columns)
  body = ''.join('<tr>' + ''.join(f'<td>{_fmt(r.get(c))}</td>' for c in columns) + '</tr>'
                 for r in rows)
  return f'<table><tr>{head}</tr>{body}</table>'


def _fmt(value: Any) -> str:
  if value is None:
    return ''
  if isinstance(value, float):
    return f'{value:.4g}'
  return html.escape(str(value))
