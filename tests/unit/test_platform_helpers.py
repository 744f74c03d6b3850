"""The platform's pure helpers, each on small real inputs (real TFX artifacts, real protos,
real Keras Tuner oracles and trial files), without running a pipeline."""

import json
import os

import keras_tuner
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.utils import proto_utils

from tfx_hypertune.components import evaluator, example_gen, validation
from tfx_hypertune.components.tuner import (executor, files, keying, search, spec, trial_table,
                                            trials, warm_start)
from tfx_hypertune.model import search_config
from tests.conftest import REPO


# --- the search key ----------------------------------------------------------------------------

CUSTOM = {'label': 'digit', 'code_version': 'v1', 'seed': 1,
          'search': {'algorithm': 'hyperband', 'max_epochs': 10}}
PROPERTIES = {'custom_config': json.dumps(CUSTOM), 'train_args': '{"splits": ["train"]}',
              'eval_args': '{"splits": ["eval"]}',
              'tuner_fn': 'tfx_hypertune.model.tuner_fn.tuner_fn'}


def test_search_key_is_settings_then_data():
  key = keying.search_key(PROPERTIES, 'dataset1', 'abcdef0123456789')
  settings, data = key.split('-')
  assert len(settings) == 10 and data == 'abcdef0123'
  assert keying.search_key(dict(PROPERTIES), 'dataset1', 'abcdef0123456789') == key


@pytest.mark.parametrize('change', [
    {'custom_config': json.dumps({**CUSTOM, 'seed': 2})},
    {'train_args': '{"splits": ["train"], "num_steps": 100}'},
    {'tuner_fn': 'tfx_hypertune.model.trainer.run_fn'},  # another function, another file
    {'module_file': os.path.join(REPO, 'model', 'tuner_fn.py'), 'tuner_fn': None}])
def test_search_key_settings_part_follows_each_setting(change):
  before = keying.search_key(PROPERTIES, 'dataset1', 'd' * 16).split('-')[0]
  assert keying.search_key({**PROPERTIES, **change}, 'dataset1', 'd' * 16).split('-')[0] != (
      before)
  # The dataset is part of the settings; the parallel trials, warm start, policy, budget
  # parameters, the splits (data) and the JSON's formatting are not.
  assert keying.search_key(PROPERTIES, 'dataset2', 'd' * 16).split('-')[0] != before
  assert keying.search_key({**PROPERTIES, 'parallel_trials': 2, 'warm_start_trials': 0,
                              'tuning': 'never'}, 'dataset1', 'd' * 16).split('-')[0] == before
  same = {**PROPERTIES, 'train_args': '{"splits":["eval"]}',
          'custom_config': json.dumps({**CUSTOM, 'max_epochs': 3}, indent=2)}
  assert keying.search_key(same, 'dataset1', 'd' * 16).split('-')[0] == before


def test_budget_parameters_reach_tuner_fn_beside_its_custom_config():
  custom = executor.with_budget({**PROPERTIES, 'max_epochs': 3, 'max_trials': None})
  assert custom == {**CUSTOM, 'max_epochs': 3}
  assert search_config.search_settings(custom)['max_epochs'] == 3 and CUSTOM['search'][
      'max_epochs'] == 10
  with pytest.raises(ValueError, match='max_epochs: 0: must be a positive integer'):
    executor.with_budget({**PROPERTIES, 'max_epochs': 0})


@pytest.mark.parametrize('properties, expected', [
    ({}, 1), ({'parallel_trials': 3}, 3),
    ({'tune_args': '{"num_parallel_trials": 2}'}, 2),
    ({'tune_args': '{"num_parallel_trials": 2}', 'parallel_trials': 2}, 2)])
def test_parallel_trials_from_tune_args_or_ours(properties, expected):
  assert executor.requested_workers(properties) == expected


def test_tune_args_and_parallel_trials_that_disagree_are_refused():
  with pytest.raises(ValueError, match='num_parallel_trials=2 and parallel_trials=3'):
    executor.requested_workers({'tune_args': '{"num_parallel_trials": 2}',
                                'parallel_trials': 3})


def test_warm_start_is_on_by_default_for_the_component_and_the_command():
  """One default, told once: a Tuner given no warm_start_trials warm-starts from the previous
  search's 3 best configurations, as the hypertune command's config does; 0 turns it off."""
  from tfx_hypertune.pipeline import config as config_lib
  assert spec.warm_start_count({}) == 3
  assert spec.warm_start_count({'warm_start_trials': None}) == 3
  assert spec.warm_start_count({'warm_start_trials': 0}) == 0
  assert config_lib.SearchConfig().warm_start_trials == 3
  with pytest.raises(ValueError, match='warm_start_trials=-1: must be 0'):
    spec.warm_start_count({'warm_start_trials': -1})


def test_default_search_state_sits_beside_the_node_outputs():
  assert spec.state_dir_beside('/root/Tuner/tuner_results/7') == '/root/Tuner/TunerState'
  assert spec.state_dir_beside('s3://b/root/Tuner/tuner_results/7/') == (
      's3://b/root/Tuner/TunerState')
  # The one default: the same folder a pipeline that knows its root passes explicitly.
  assert spec.default_state_dir('s3://b/root/', 'Tuner') == 's3://b/root/Tuner/TunerState'


def test_a_json_write_cut_short_leaves_the_old_file(tmp_path, monkeypatch):
  path = str(tmp_path / 'oracle.json')
  files.write_json(path, {'trials': 1})

  def cut_short(*args, **kwargs):
    raise KeyboardInterrupt
  monkeypatch.setattr(json, 'dumps', cut_short)
  with pytest.raises(KeyboardInterrupt):
    files.write_json(path, {'trials': 2})
  monkeypatch.undo()
  assert files.read_json(path) == {'trials': 1}
  assert files.unreadable_json([path]) is None
  open(path, 'w').close()
  assert files.unreadable_json([path])[0] == path


# --- trial files: rows, best values, best first ------------------------------------------------

def _write_trial(project, trial_id, score, values, status='COMPLETED', stats=None,
                 direction='max', metrics=None):
  hp = keras_tuner.HyperParameters()
  hp.Int('num_layers', 1, 3)
  for i in range(3):
    with hp.conditional_scope('num_layers', [n for n in (1, 2, 3) if n > i]):
      hp.Int(f'units_{i}', 16, 512, step=16)
  hp.values = dict(values)
  trial = {'trial_id': trial_id, 'status': status, 'score': score,
           'hyperparameters': hp.get_config(),
           'metrics': {'metrics': {'val_accuracy': {'direction': direction, 'observations': [
               {'value': [score - 0.1], 'step': 0}, {'value': [score], 'step': 1}]}, **{
                   name: {'direction': way, 'observations': [
                       {'value': [v], 'step': i} for i, v in enumerate(observed)]}
                   for name, (way, observed) in (metrics or {}).items()}}}}
  files.write_json(files.join(project, f'trial_{trial_id}', files.TRIAL_FILE), trial)
  if stats:
    files.write_json(files.join(project, f'trial_{trial_id}', files.TRIAL_STATS_FILE), stats)


def test_trial_rows_carry_stats_and_only_active_values(tmp_path):
  project = str(tmp_path / 'trials')
  _write_trial(project, '0', 0.9, {'num_layers': 1, 'units_0': 32, 'units_1': 64,
                                   'tuner/epochs': 2, 'tuner/bracket': 1, 'tuner/round': 0},
               stats={'trainable_parameters': 100, 'epoch_seconds': [1.0, 3.0],
                      'trial_seconds': 5.0, 'tuner_id': 'chief'})
  table = trial_table.build(project, 'val_accuracy', 'max')
  (row,) = table.rows
  assert list(row) == table.columns
  assert table.columns[:4] == ['trial_id', 'status', 'score', 'val_accuracy']
  assert (row['val_accuracy'], row['epochs_run'], row['seconds_per_epoch']) == (0.9, 2, 2.0)
  assert (row['bracket'], row['round'], row['trainable_parameters']) == (1, 0, 100)
  # units_1 is inactive with one layer; tuner/ values are bookkeeping.
  assert table.values_of(row) == {'num_layers': 1, 'units_0': 32}


def test_the_table_names_only_what_the_trials_recorded_with_their_directions(tmp_path):
  """A model's own metric (a direction Keras Tuner cannot infer: it records 'min') takes the
  direction its metric object declared (trial_stats.json); the objective takes the oracle's."""
  project = str(tmp_path / 'trials')
  _write_trial(project, '0', 0.9, {'num_layers': 1, 'units_0': 32},
               stats={'directions': {'val_my_recall': 'max'}},
               metrics={'val_my_recall': ('min', [0.2, 0.7]), 'loss': ('min', [0.1])})
  table = trial_table.build(project, 'val_accuracy', 'max')
  assert table.metrics == ['val_accuracy', 'val_my_recall']  # not the training loss
  assert table.directions == {'val_accuracy': 'max', 'val_my_recall': 'max'}
  assert table.rows[0]['val_my_recall'] == 0.7


def test_trials_csv_keeps_every_column(tmp_path):
  project = str(tmp_path / 'trials')
  _write_trial(project, '0', 0.9, {'num_layers': 2, 'units_0': 32, 'units_1': 16})
  _write_trial(project, '1', 0.5, {'num_layers': 1, 'units_0': 48}, status='FAILED')
  table = trial_table.build(project, 'val_accuracy', 'max')
  header = table.csv_text().splitlines()[0]
  assert header.split(',') == [*trial_table.LEADING_COLUMNS, 'val_accuracy',
                               *trial_table.TRAILING_COLUMNS, 'num_layers', 'units_0', 'units_1']


@pytest.mark.parametrize('direction, expected', [('max', ['2', '0', '1']),
                                                 ('min', ['1', '0', '2'])])
def test_best_first_follows_the_objective_direction(direction, expected):
  rows = [{'trial_id': '0', 'score': 0.5}, {'trial_id': '1', 'score': 0.2},
          {'trial_id': '2', 'score': 0.9}, {'trial_id': '3', 'score': None}]
  ranked = trials.best_first(rows, direction, score=lambda r: r['score'],
                           trial_id=lambda r: r['trial_id'])
  assert [r['trial_id'] for r in ranked] == expected


def test_ties_on_the_objective_go_to_the_lower_val_loss_then_the_earlier_trial():
  rows = [{'trial_id': '0', 'score': 0.9, 'val_loss': 0.8},  # a short trial, tied
          {'trial_id': '1', 'score': 0.9, 'val_loss': 0.3},
          {'trial_id': '2', 'score': 0.9, 'val_loss': ''},  # none recorded: after the others
          {'trial_id': '3', 'score': 0.9, 'val_loss': 0.3},
          {'trial_id': '4', 'score': 0.95, 'val_loss': 2.0}]  # a better score wins outright
  ranked = trials.best_first(rows, 'max', score=lambda r: r['score'],
                           trial_id=lambda r: r['trial_id'], val_loss=lambda r: r['val_loss'])
  assert [r['trial_id'] for r in ranked] == ['4', '1', '3', '0', '2']


def test_best_values_are_distinct_and_best_first(tmp_path):
  search_dir = str(tmp_path / 'search')
  project = files.join(search_dir, files.TRIALS_PROJECT)
  _write_trial(project, '0', 0.80, {'num_layers': 1, 'units_0': 32})
  _write_trial(project, '1', 0.95, {'num_layers': 1, 'units_0': 64})
  _write_trial(project, '2', 0.96, {'num_layers': 1, 'units_0': 64, 'tuner/round': 1})
  _write_trial(project, '3', 0.99, {'num_layers': 1, 'units_0': 16}, status='FAILED')
  carried = warm_start.best_values(project, 2, 'max')
  assert [(c['from_trial'], c['values']) for c in carried] == [
      ('2', {'num_layers': 1, 'units_0': 64}), ('0', {'num_layers': 1, 'units_0': 32})]
  assert [c['from_trial'] for c in warm_start.best_values(project, 1, 'min')] == ['0']


def test_previous_search_is_the_newest_other_with_the_same_settings(tmp_path):
  root = str(tmp_path)
  # Any project name the tuner_fn chose.
  for key, project in (('aaa-111', 'penguin_tuning'), ('aaa-222', 'trials'),
                       ('bbb-333', 'trials')):
    files.write_json(files.join(root, key, project, files.ORACLE_FILE), {})
  previous = warm_start.previous_search(root, 'aaa-222')
  assert previous == files.join(root, 'aaa-111', 'penguin_tuning')
  assert warm_start.search_name(previous) == 'aaa-111'
  assert warm_start.previous_search(root, 'ccc-444') == ''


def test_queued_configurations_come_first(tmp_path):
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 1000)
  oracle = search.RandomSearchOracle(objective=keras_tuner.Objective('score', 'max'),
                                     max_trials=4, seed=1, hyperparameters=hp)
  oracle._set_project_dir(str(tmp_path), 'queue')  # noqa: SLF001
  oracle.enqueue([{'units': 7}, {'units': 9}])
  drawn = []
  for i in range(3):
    trial = oracle.create_trial(f'tuner{i}')
    drawn.append(trial.hyperparameters.values['units'])
    oracle.update_trial(trial.trial_id, {'score': 1.0})
    trial.status = 'COMPLETED'
    oracle.end_trial(trial)
  assert drawn[:2] == [7, 9] and drawn[2] not in (7, 9)


def test_training_epochs():
  assert search.training_epochs({'values': {'tuner/epochs': 4}}) == 4
  assert search.training_epochs({'values': {}, files.BUDGET_FIELD: {'max_epochs': 2}}) == 2
  # The search's budget over a short Hyperband trial's epochs (early stopping does the rest).
  assert search.training_epochs({'values': {'tuner/epochs': 2},
                                 files.BUDGET_FIELD: {'max_epochs': 10}}) == 10
  assert search.training_epochs({'values': {'tuner/epochs': 4}}, configured=9) == 9
  with pytest.raises(ValueError, match='set training.epochs'):
    search.training_epochs({'values': {}})


# --- ExampleGen's window, the SchemaGate's anomalies, the Evaluator's threshold ----------------

def test_window_files_take_the_newest_spans_up_to_the_resolved_one(tmp_path):
  for span in (1, 2, 3, 5):
    (tmp_path / f'span-{span}').mkdir()
    (tmp_path / f'span-{span}' / 'part.csv').write_text('a\n1\n')
  (tmp_path / 'span-x').mkdir()
  files = example_gen.window_files(str(tmp_path), 2, newest=3)
  assert [f.split('/')[-2] for f in files] == ['span-2', 'span-3']
  with pytest.raises(RuntimeError, match='no CSV files in spans'):
    example_gen.window_files(str(tmp_path / 'span-x'), 2, newest=3)


def test_read_anomalies_names_split_and_column(tmp_path):
  anomalies = anomalies_pb2.Anomalies()
  anomalies.anomaly_info['color'].description = 'Examples contain values missing\n from the schema.'
  (tmp_path / 'Split-eval').mkdir()
  (tmp_path / 'Split-eval' / validation.ANOMALIES_FILE).write_bytes(
      anomalies.SerializeToString())
  (tmp_path / 'Split-train').mkdir()
  (tmp_path / 'Split-train' / validation.ANOMALIES_FILE).write_bytes(
      anomalies_pb2.Anomalies().SerializeToString())
  assert validation.read_anomalies(str(tmp_path)) == [
      'split eval: column color: Examples contain values missing from the schema.']


def test_accuracy_threshold_goes_into_the_eval_config():
  config = tfma.EvalConfig(metrics_specs=[tfma.MetricsSpec(metrics=[
      tfma.MetricConfig(class_name='SparseCategoricalAccuracy'),
      tfma.MetricConfig(class_name='ExampleCount')])])
  updated = proto_utils.json_to_proto(evaluator.with_accuracy_threshold(
      proto_utils.proto_to_json(config), 0.42), tfma.EvalConfig())
  metric = updated.metrics_specs[0].metrics[0]
  assert metric.threshold.value_threshold.lower_bound.value == pytest.approx(0.42)
  without = tfma.EvalConfig(metrics_specs=[tfma.MetricsSpec(metrics=[
      tfma.MetricConfig(class_name='ExampleCount')])])
  with pytest.raises(ValueError, match='no SparseCategoricalAccuracy metric'):
    evaluator.with_accuracy_threshold(proto_utils.proto_to_json(without), 0.5)


# --- the Evaluator's baseline ------------------------------------------------------------------

def _saved_model(folder, request, whole=True):
  """A model folder as the Pusher leaves one: saved_model.pb and the request spec."""
  (folder / 'assets.extra').mkdir(parents=True)
  (folder / 'assets.extra' / 'request_spec.json').write_text(json.dumps(request))
  if whole:
    (folder / 'saved_model.pb').write_bytes(b'pb')
  return str(folder)


def test_baseline_is_the_newest_pushed_model_of_the_same_data(tmp_path):
  digits, pets = {'features': {'a': 'float'}, 'label': 'y'}, {'features': {'b': 'str'}}
  candidate = tmp_path / 'Trainer' / 'model'
  _saved_model(candidate / 'Format-Serving', digits)
  serving = tmp_path / 'serving'
  assert evaluator.find_baseline(str(candidate), str(serving)) == (
      None, 'no earlier blessed model')
  _saved_model(serving / '100', digits)
  _saved_model(serving / '900', digits)       # newest of the same data
  _saved_model(serving / '1000', pets)        # newer, other data: passed over
  _saved_model(serving / '2000', digits, whole=False)  # a push that did not finish
  (serving / 'notes').mkdir()                 # not a version
  assert evaluator.pushed_versions(str(serving)) == [str(serving / v)
                                                     for v in ('1000', '900', '100')]
  found, note = evaluator.find_baseline(str(candidate), str(serving))
  assert found == str(serving / '900')
  assert note.startswith(f'compared with the last blessed model ({serving / "900"})')
  assert '1 newer pushed model(s) of other data passed over' in note
  only_pets = tmp_path / 'pets-serving'
  _saved_model(only_pets / '5', pets)
  found, note = evaluator.find_baseline(str(candidate), str(only_pets))
  assert found is None and 'trained on other data' in note


def test_a_push_cut_short_is_never_taken_for_a_model(tmp_path):
  """A kill during the Pusher: TFX's Pusher copies saved_model.pb last (checked in its source,
  so an upgrade that changes it fails here), and every reader of serving/ (components/
  serving.py: the Evaluator's baseline above, `hypertune predict` here) takes a version only
  once that file is there."""
  import inspect
  from tfx.components.pusher import executor as pusher_executor
  from tfx_hypertune.hypertune import predict
  source = inspect.getsource(pusher_executor.Executor)
  assert "deny_regex_patterns=[r'saved_model\\.pb']" in source
  assert source.index('deny_regex_patterns') < source.index("os.path.join(serving_path, "
                                                            "'saved_model.pb')")
  serving = tmp_path / 'serving'
  request = {'features': {'a': 'float'}, 'label': 'y'}
  _saved_model(serving / '100', request)
  _saved_model(serving / '200', request, whole=False)  # the kill came before the last file
  assert predict.resolve_model_dir(str(serving)) == str(serving / '100')


def test_the_stock_executor_gets_a_copy_it_can_read(tmp_path):
  pushed = _saved_model(tmp_path / 'serving' / '7', {'label': 'y'})
  model = evaluator.staged_baseline(pushed, str(tmp_path / 'tmp'))
  from tfx.utils import path_utils
  served = path_utils.serving_model_path(model.uri)
  assert (tmp_path / 'tmp' / 'baseline_model' / 'Format-Serving' / 'saved_model.pb').read_bytes() \
      == b'pb'
  assert served == str(tmp_path / 'tmp' / 'baseline_model' / 'Format-Serving')


def test_majority_rule_needs_ten_percent_fewer_errors_than_the_majority_class():
  from collections import Counter
  rate, label = evaluator.majority_rate(Counter({b'a': 70, b'b': 30}), Counter({b'a': 9, b'b': 1}))
  assert (rate, label) == (0.9, b'a')  # train's majority, scored on test
  assert evaluator.required_accuracy(0.9, floor=0.0) == pytest.approx(0.91)
  assert evaluator.required_accuracy(0.1, floor=0.0) == pytest.approx(0.19)
  assert evaluator.required_accuracy(0.1, floor=0.5) == 0.5  # the user's floor when higher
  assert evaluator.majority_rate(Counter(), Counter({b'a': 1})) == (0.0, None)


# --- parallel workers inside one pod --------------------------------------------------------

def test_workers_are_capped_by_the_pods_cpu_limit(tmp_path):
  from tfx_hypertune.components.tuner import local_pool
  cpu_max = tmp_path / 'cpu.max'
  cpu_max.write_text('150000 100000\n')  # limits.cpu: 1500m
  assert local_pool.cpu_limit(str(cpu_max)) == 1.5
  assert local_pool.usable_cores(limit=1.5) == min(2, len(os.sched_getaffinity(0)))
  assert local_pool.usable_cores(limit=0.5) == 1
  cpu_max.write_text('max 100000\n')  # no limit
  assert local_pool.cpu_limit(str(cpu_max)) == float('inf')
  quota, period = tmp_path / 'quota', tmp_path / 'period'
  quota.write_text('300000')
  period.write_text('100000')
  assert local_pool.cpu_limit(str(tmp_path / 'absent'), str(quota), str(period)) == 3.0
  quota.write_text('-1')
  assert local_pool.cpu_limit(str(tmp_path / 'absent'), str(quota), str(period)) == float('inf')
  assert local_pool.worker_count(4, cores=2) == 2
  assert local_pool.worker_count(1, cores=8) == 1
  assert local_pool.worker_count(0, cores=8) == 1


def test_regression_rule_needs_ten_percent_less_squared_error_than_the_training_mean():
  from collections import Counter
  rmse, mean = evaluator.training_mean_rmse(Counter({10.0: 1, 20.0: 1}), Counter({10.0: 1,
                                                                                  30.0: 1}))
  assert mean == 15.0 and rmse == pytest.approx(((25 + 225) / 2) ** 0.5)
  assert evaluator.allowed_rmse(10.0, ceiling=0.0) == pytest.approx(0.9 ** 0.5 * 10)
  assert evaluator.allowed_rmse(10.0, ceiling=5.0) == 5.0   # the user's ceiling when lower
  assert evaluator.allowed_rmse(10.0, ceiling=50.0) == pytest.approx(0.9 ** 0.5 * 10)
  config = evaluator.with_metric_bound(proto_utils.proto_to_json(tfma.EvalConfig(
      metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(
          class_name='RootMeanSquaredError')])])), 'RootMeanSquaredError', 'upper_bound', 7.5)
  parsed = proto_utils.json_to_proto(config, tfma.EvalConfig())
  assert parsed.metrics_specs[0].metrics[0].threshold.value_threshold.upper_bound.value == 7.5
