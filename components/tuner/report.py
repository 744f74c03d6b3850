"""The trial report: a table, plots and TensorBoard logs, built from the trial files alone.

Inputs are Keras Tuner's `trial_*/trial.json` and our `trial_*/trial_stats.json` (parameters,
per-epoch seconds and validation metrics), so the report can be rebuilt from any search
directory and its numbers can be checked against those files.

    report/
      trials.csv          one row per trial
      report.html         the plots and the best trials, in one page
      *.png               the objective's metric by trial, against model size, epochs to
                          target vs. hidden units, Hyperband brackets (file names say
                          "accuracy"; a regression's plots show its loss or MAE)
      tensorboard/        HParams logs: `tensorboard --logdir report/tensorboard`
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
from typing import Any, Dict, List, Optional

from tfx_hypertune.components.tuner import search as search_api
from tfx_hypertune.components.tuner import progress, spec

TRIALS_CSV = spec.TRIALS_CSV
REPORT_HTML = spec.REPORT_HTML
PLOTS = {
    'accuracy_by_trial.png': '{Metric} of each trial',
    'accuracy_vs_size.png': '{Metric} against model size',
    'epochs_to_target.png': 'Epochs needed to reach the target {metric}, against hidden units',
    'hyperband_brackets.png': 'Hyperband: configurations each round kept',
    'hyperparameter_effects.png': '{Metric} against each hyperparameter',
    'pareto_front.png': 'Trade-offs: {metric} against size and against time per epoch',
}
# At most this many hyperparameters get a panel in hyperparameter_effects.png.
MAX_EFFECT_PANELS = 9
# "Reaching the target": within 2% of the best value found (0.98 x the best accuracy, or the
# best loss / 0.98).
TARGET_FRACTION = 0.98


@dataclasses.dataclass(frozen=True)
class Metric:
  """What the report plots and ranks by: the search's objective."""
  column: str   # in trials.csv and trial_stats.json
  name: str
  higher_is_better: bool

  @property
  def axis(self) -> str:
    return f'{self.name} ({"higher" if self.higher_is_better else "lower"} is better)'

  def best(self, values: List[float]) -> float:
    return max(values) if self.higher_is_better else min(values)

  def target(self, best: float) -> float:
    return best * TARGET_FRACTION if self.higher_is_better else best / TARGET_FRACTION

  def reached(self, value: float, target: float) -> bool:
    return value >= target if self.higher_is_better else value <= target


# Names for the metrics our own model reports; any other objective is shown by its own name.
METRIC_NAMES = {'val_accuracy': 'validation accuracy', 'val_loss': 'validation loss',
                'val_mean_absolute_error': 'validation MAE',
                'val_balanced_accuracy': 'validation balanced accuracy',
                'val_auc': 'validation AUC'}


def metric_of(objective: str, direction: str) -> Metric:
  """The objective as the report shows it; its direction is the oracle's (Keras Tuner infers
  it from the metric's name, or the tuner_fn gave it)."""
  return Metric(objective, METRIC_NAMES.get(objective, objective), direction == 'max')


def load_trials(search_dir: str) -> List[Dict[str, Any]]:
  """One dict per trial directory: trial.json merged with trial_stats.json."""
  return [{'trial': spec.read_json(spec.join(trial_dir, spec.TRIAL_FILE)),
           'stats': spec.read_json(spec.join(trial_dir, spec.TRIAL_STATS_FILE), default={}),
           'error_log': progress.error_log_path(trial_dir)}
          for trial_dir in spec.trial_dirs(search_dir)]


# The columns of trials.csv before the hyperparameters (one column each, active values only).
# The validation metrics our model reports (each trial's best epoch); empty where it has none.
METRIC_COLUMNS = ('val_accuracy', 'val_balanced_accuracy', 'val_auc', 'val_loss',
                  'val_mean_absolute_error')
TRIAL_COLUMNS = ('trial_id', 'status', 'score', *METRIC_COLUMNS, 'epochs_run',
                 'initial_epoch', 'trainable_parameters', 'hidden_units', 'seconds_per_epoch',
                 'trial_seconds', 'bracket', 'round', 'tuner_id', 'worker', 'error')


def trial_rows(trials: List[Dict[str, Any]],
               objective: Optional[str] = None) -> List[Dict[str, Any]]:
  """The trials.csv rows, in trial order; an objective that is not one of TRIAL_COLUMNS gets
  a column of its own (its best value), after them."""
  rows = []
  for item in trials:
    trial, stats = item['trial'], item['stats']
    values = trial['hyperparameters']['values']
    metrics = trial.get('metrics', {}).get('metrics', {})
    epoch_seconds = stats.get('epoch_seconds') or []
    row = {
        'trial_id': trial['trial_id'],
        'status': trial.get('status'),
        'score': trial.get('score'),
        **{name: _best(metrics, name) for name in METRIC_COLUMNS},
        'epochs_run': len(epoch_seconds),
        'initial_epoch': values.get('tuner/initial_epoch', 0),
        'trainable_parameters': stats.get('trainable_parameters'),
        'hidden_units': stats.get('hidden_units'),
        'seconds_per_epoch': (sum(epoch_seconds) / len(epoch_seconds)
                              if epoch_seconds else None),
        'trial_seconds': stats.get('trial_seconds'),
        'bracket': values.get('tuner/bracket'),
        'round': values.get('tuner/round'),
        'tuner_id': stats.get('tuner_id'),
        # host:pid of the Beam worker (trials on Beam) or of the process that ran the trial.
        'worker': stats.get('beam_worker') or stats.get('worker'),
        'error': (progress.trial_error(trial.get('message'), item.get('error_log'))
                  if spec.is_failed(trial.get('status')) else None),
    }
    assert tuple(row) == TRIAL_COLUMNS, 'trial_rows and TRIAL_COLUMNS must agree'
    if objective and objective not in row:
      row[objective] = _best(metrics, objective)
    row.update(search_api.active_values_of_config(trial['hyperparameters']))
    rows.append(row)
  return rows


# Keras Tuner records a metric whose direction it cannot infer from the name as 'min' unless it
# is the objective (metrics_tracking.register); our balanced accuracy goes up.
HIGHER_IS_BETTER = ('val_balanced_accuracy',)


def _best(metrics: Dict[str, Any], name: str) -> Optional[float]:
  history = metrics.get(name)
  if not history or not history.get('observations'):
    return None
  values = [o['value'][0] for o in history['observations']]
  higher = history.get('direction') == 'max' or name in HIGHER_IS_BETTER
  return max(values) if higher else min(values)


def hyperparameters_of(row: Dict[str, Any], objective: Optional[str] = None) -> Dict[str, Any]:
  """The hyperparameter columns of a trials.csv row (of trial_rows with that objective)."""
  return {k: v for k, v in row.items()
          if k not in TRIAL_COLUMNS and k != objective and v is not None}


def hidden_units(row: Dict[str, Any]) -> int:
  return int(row.get('hidden_units') or 0)


def epochs_to_target(item: Dict[str, Any], target: float, metric: Metric) -> Optional[int]:
  """First (absolute) epoch at which the trial's objective reached the target."""
  stats = item['stats']
  for epoch, value in zip(stats.get('epochs') or [], stats.get(metric.column) or []):
    if value is not None and metric.reached(value, target):
      return epoch
  return None


def write_report(search_dir: str, out_dir: str, carried_over: Optional[List[Dict]],
                 objective: str, direction: str, chosen: Optional[Dict[str, Any]] = None) -> str:
  """Writes trials.csv, the plots, report.html and TensorBoard logs; returns the HTML path.
  `objective` and `direction` are the oracle's (oracle.objective), never assumed."""
  trials = load_trials(search_dir)
  rows = trial_rows(trials, objective)
  spec.write_text(spec.join(out_dir, TRIALS_CSV), csv_text(rows))
  metric = metric_of(objective, direction)
  completed = [(item, row) for item, row in zip(trials, rows)
               if spec.is_completed(row['status']) and row[metric.column] is not None]
  values = [row[metric.column] for _, row in completed]
  target = round(metric.target(metric.best(values)), 4) if values else 0.0
  _plot_all(out_dir, completed, target, metric, (chosen or {}).get('trial_id'))
  write_tensorboard(spec.join(out_dir, spec.TENSORBOARD_DIR), trials, rows, objective)
  path = spec.join(out_dir, REPORT_HTML)
  spec.write_text(path, _html(rows, completed, target, metric, carried_over or [],
                              chosen or {}))
  return path


def csv_text(rows: List[Dict[str, Any]]) -> str:
  """trials.csv: every TRIAL_COLUMNS column, then each hyperparameter seen in any row."""
  columns: List[str] = list(TRIAL_COLUMNS)
  for row in rows:
    columns += [c for c in row if c not in columns]
  out = io.StringIO(newline='')
  writer = csv.DictWriter(out, fieldnames=columns)
  writer.writeheader()
  writer.writerows(rows)
  return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Plots


def plot_titles(metric: Metric) -> Dict[str, str]:
  return {name: title.format(Metric=metric.name.capitalize(), metric=metric.name)
          for name, title in PLOTS.items()}


def pareto_front(rows: List[Dict[str, Any]], cost: str, metric: Metric) -> List[Dict[str, Any]]:
  """The trials no other trial beats on both the objective and `cost` (trainable_parameters
  or seconds_per_epoch), cheapest first: the choices worth making between size (or speed) and
  quality. Rows without the cost are left out."""
  sign = 1 if metric.higher_is_better else -1
  front: List[Dict[str, Any]] = []
  for row in sorted((r for r in rows if r.get(cost) and r[metric.column] is not None),
                    key=lambda r: (r[cost], -sign * r[metric.column])):
    if not front or sign * (row[metric.column] - front[-1][metric.column]) > 0:
      front.append(row)
  return front


def _pareto_panels(plt, rows, metric: Metric, chosen_id: Optional[str]):
  """Every completed trial, its Pareto front joined up, and the trial the Trainer gets
  ringed, against trainable parameters and against seconds per epoch."""
  fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.0), dpi=100, squeeze=False)
  for ax, (cost, label) in zip(axes[0], (('trainable_parameters', 'trainable parameters'),
                                         ('seconds_per_epoch', 'seconds per epoch'))):
    known = [r for r in rows if r.get(cost) and r[metric.column] is not None]
    ax.scatter([r[cost] for r in known], [r[metric.column] for r in known], s=18, c='#bbb',
               label='trials')
    front = pareto_front(rows, cost, metric)
    ax.plot([r[cost] for r in front], [r[metric.column] for r in front], '-o', ms=4,
            label='Pareto front')
    chosen = [r for r in known if r['trial_id'] == chosen_id]
    if chosen:
      ax.scatter([chosen[0][cost]], [chosen[0][metric.column]], s=160, facecolors='none',
                 edgecolors='red', linewidths=2, label=f'trained: trial {chosen_id}')
    ax.set_xscale('log')
    ax.set_xlabel(f'{label} (log scale)')
    ax.set_ylabel(metric.axis)
    ax.grid(alpha=0.3)
    ax.legend(loc='best', fontsize=8)
  fig.suptitle(plot_titles(metric)['pareto_front.png'], fontsize=11)
  return fig


def _plot_all(out_dir: str, completed, target: float, metric: Metric,
              chosen_id: Optional[str] = None) -> None:
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  rows = [row for _, row in completed]
  plotters = {
      'accuracy_by_trial.png': lambda ax: _metric_by_trial(ax, rows, metric),
      'accuracy_vs_size.png': lambda ax: _metric_vs_size(ax, rows, metric),
      'epochs_to_target.png': lambda ax: _epochs_to_target(ax, completed, target, metric),
      'hyperband_brackets.png': lambda ax: _brackets(ax, rows),
  }
  titles = plot_titles(metric)
  for name, plot in plotters.items():
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    _draw(plt, fig, ax, plot, titles[name], out_dir, name)
  fig = _hyperparameter_effects(plt, rows, metric)
  _save(plt, fig, out_dir, 'hyperparameter_effects.png')
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
  spec.write_bytes(spec.join(out_dir, name), image.getvalue())


def _hyperparameter_effects(plt, rows, metric: Metric):
  """One panel per hyperparameter: the objective of every completed trial against its value
  (choices and text on a categorical axis), whatever the hyperparameters are called."""
  names = sorted({k for r in rows for k in hyperparameters_of(r, metric.column)})
  names = names[:MAX_EFFECT_PANELS] or ['(none)']
  columns = min(3, len(names))
  lines = -(-len(names) // columns)
  fig, axes = plt.subplots(lines, columns, figsize=(3.4 * columns, 2.8 * lines), dpi=100,
                           squeeze=False)
  for ax in axes.flat[len(names):]:
    ax.set_visible(False)
  for ax, name in zip(axes.flat, names):
    points = [(r[name], r[metric.column]) for r in rows
              if r.get(name) is not None and r[metric.column] is not None]
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
  ax.scatter(xs, [r[metric.column] for r in rows], c=[r['bracket'] or 0 for r in rows],
             cmap='viridis', s=22)
  if rows:
    best = _best_index(rows, metric)
    ax.scatter([best], [rows[best][metric.column]], marker='*', s=180, c='red',
               label=f'best: trial {rows[best]["trial_id"]}')
    ax.legend(loc='best')
  ax.set_xlabel('trial (in order run; colour: Hyperband bracket)')
  ax.set_ylabel(metric.axis)


def _best_index(rows, metric: Metric) -> int:
  values = [r[metric.column] for r in rows]
  return values.index(metric.best(values))


def _metric_vs_size(ax, rows, metric: Metric) -> None:
  # Coloured by depth where the space has a `num_layers` hyperparameter (ours does).
  by_layers = any('num_layers' in r for r in rows)
  for layers in sorted({r.get('num_layers') for r in rows}, key=lambda v: v or 0):
    group = [r for r in rows if r.get('num_layers') == layers and r['trainable_parameters']]
    ax.scatter([r['trainable_parameters'] for r in group], [r[metric.column] for r in group],
               s=22, label=f'{layers} hidden layer(s)' if by_layers else 'trials')
  ax.set_xscale('log')
  ax.set_xlabel('trainable parameters (log scale)')
  ax.set_ylabel(metric.axis)
  ax.legend(loc='best')


def _epochs_to_target(ax, completed, target: float, metric: Metric) -> None:
  from matplotlib.ticker import MaxNLocator  # pylint: disable=import-outside-toplevel
  reached, missed = [], []
  for item, row in completed:
    epochs = epochs_to_target(item, target, metric)
    (reached if epochs else missed).append((hidden_units(row), epochs or row['epochs_run']))
  if reached:
    ax.scatter(*zip(*reached), s=22, label=f'reached {target:.3f}')
  if missed:
    ax.scatter(*zip(*missed), marker='x', s=22, c='grey',
               label='did not reach it (epochs run)')
  ax.set_xlabel('hidden units (sum over layers)')
  ax.set_ylabel('epoch')
  ax.yaxis.set_major_locator(MaxNLocator(integer=True))
  ax.legend(loc='upper right')


def _brackets(ax, rows) -> None:
  brackets = sorted({r['bracket'] for r in rows if r['bracket'] is not None}, reverse=True)
  if not brackets:
    ax.text(0.5, 0.5, 'not a Hyperband search', ha='center', va='center')
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


def write_tensorboard(log_dir: str, trials, rows, objective: Optional[str] = None) -> None:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from tensorboard.plugins.hparams import api as hparams_api  # pylint: disable=import-outside-toplevel
  for item, row in zip(trials, rows):
    values = hyperparameters_of(row, objective)
    writer = tf.summary.create_file_writer(spec.join(log_dir, f'trial_{row["trial_id"]}'))
    with writer.as_default():
      hparams_api.hparams(values, trial_id=row['trial_id'])
      stats = item['stats']
      for epoch, accuracy, loss in zip(stats.get('epochs') or [], stats.get('val_accuracy') or [],
                                       stats.get('val_loss') or []):
        if accuracy is not None:
          tf.summary.scalar('val_accuracy', accuracy, step=epoch)
        if loss is not None:
          tf.summary.scalar('val_loss', loss, step=epoch)
    writer.close()


# ---------------------------------------------------------------------------------------------
# HTML


def _html(rows, completed, target: float, metric: Metric, carried_over: List[Dict],
          chosen: Dict[str, Any]) -> str:
  # Best first by the search's own objective and direction.
  ranked = spec.best_first((row for _, row in completed),
                           'max' if metric.higher_is_better else 'min',
                           score=lambda r: r['score'], trial_id=lambda r: r['trial_id'],
                           val_loss=lambda r: r['val_loss'])
  objective = metric.column
  findings = _findings(completed, target, metric) + _front_findings(
      [row for _, row in completed], metric)
  parts = [
      '<!doctype html><meta charset="utf-8"><title>tfx-hypertune trial report</title>',
      '<style>body{font-family:sans-serif;max-width:1100px;margin:auto}'
      'table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;'
      'padding:2px 6px;text-align:right}img{width:48%;margin:1%}</style>',
      '<h1>Trial report</h1>',
      f'<p>{len(rows)} trials, {len(completed)} completed; objective {html.escape(objective)}.'
      f' Target {metric.name} for "epochs to target": {target:.4f} '
      f'(within {1 - TARGET_FRACTION:.0%} of the best; {metric.axis}).</p>',
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
  failed = [row for row in rows if spec.is_failed(row['status'])]
  if failed:
    parts.append('<h2>Failed trials</h2><p>The error of each (the whole traceback is in its '
                 'trial.json):</p><ul>' + ''.join(
                     f'<li>trial {html.escape(str(r["trial_id"]))} ({html.escape(r["status"])}'
                     f'{", on " + html.escape(r["worker"]) if r["worker"] else ""}): '
                     f'{html.escape(r["error"] or "")}</li>' for r in failed) + '</ul>')
  parts.append(f'<p>All trials: <a href="{TRIALS_CSV}">{TRIALS_CSV}</a>. TensorBoard: '
               '<code>tensorboard --logdir tensorboard</code> (HParams tab).</p>')
  return '\n'.join(parts)


def _findings(completed, target: float, metric: Metric) -> List[str]:
  """Plain answers to the questions tuning is for, from the completed trials."""
  rows = [row for _, row in completed if row['trainable_parameters']]
  if len(rows) < 2:
    return []
  column = metric.column
  best = rows[_best_index(rows, metric)]
  by_size = sorted(rows, key=lambda r: r['trainable_parameters'])
  small = by_size[:len(by_size) // 2]
  best_small = small[_best_index(small, metric)]
  findings = [
      f'Best: trial {best["trial_id"]}, {column} {best[column]:.4f} with '
      f'{best["trainable_parameters"]:,} parameters '
      f'({json.dumps(_rounded(hyperparameters_of(best, column)))}).',
      f'Smaller models: the best of the smaller half of models '
      f'(<= {small[-1]["trainable_parameters"]:,} parameters) reached '
      f'{best_small[column]:.4f}'
      + (' - it is the best model overall.' if best_small is best else
         f', {best_small[column] - best[column]:+.4f} from the best, with '
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
  reached = [(epochs_to_target(item, target, metric), hidden_units(row))
             for item, row in completed]
  reached = [(e, u) for e, u in reached if e]
  if reached:
    fastest = min(reached)
    width = (f' with {fastest[1]} hidden units' if fastest[1] else '')
    findings.append(f'Convergence: {len(reached)} of {len(completed)} trials reached {target:.4f};'
                    f' the fastest by epoch {fastest[0]}{width}.')
  return findings


def _front_findings(rows, metric: Metric) -> List[str]:
  """The Pareto fronts in words: how much smaller (faster) a model costs in the objective."""
  findings = []
  column = metric.column
  for cost, what in (('trainable_parameters', 'parameters'), ('seconds_per_epoch', 's/epoch')):
    front = pareto_front(rows, cost, metric)
    if len(front) < 2:
      continue
    cheapest, best = front[0], front[-1]
    findings.append(
        f'Trade-off ({what}): {len(front)} trials are on the Pareto front; the cheapest, trial '
        f'{cheapest["trial_id"]} ({_fmt(cheapest[cost])} {what}), is '
        f'{abs(best[column] - cheapest[column]):.4f} from the best of them, trial '
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
