"""Stopping weak trials (trial_stopping: median) in a real search: our model on transformed
digits rows (the shared fixture), the same seeded random search with and without the rule.
With it, trials are stopped early (recorded in search_info.json and trials.csv), fewer epochs
are spent, and the best trial is the same one; on Beam too (the reports and stops go through
the exchange)."""

import csv
import json

import pytest
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import executor as tuner_executor
from tests.e2e import helpers

pytestmark = pytest.mark.e2e

TWO_BEAM_WORKERS = ['--direct_running_mode=multi_processing', '--direct_num_workers=2']


# On Beam, trials run two at a time and sum in another order than in one process, so which
# trials are weak differs a little; half the configurations here cannot learn (a learning rate
# of 1e-6), so some trial is weak, for certain, once three others have passed its epoch.
HALF_HOPELESS = {'learning_rate': {'kind': 'choice', 'values': [1e-2, 1e-6]}}


def _search(transformed, out, rule, beam_args=None, space=None):
  from tfx_hypertune.pipeline import config as config_lib
  from tfx_hypertune.pipeline.pipeline import user_function_config
  config = config_lib.build_config({'seed': 3, 'search': {
      'algorithm': 'random', 'max_trials': 10, 'max_epochs': 8,
      'early_stopping_patience': 8, **({'space': space} if space else {})}})
  artifact = helpers.make_artifact
  output_dict = {
      'best_hyperparameters': [artifact(standard_artifacts.HyperParameters, str(out / 'hp'))],
      'tuner_results': [artifact(standard_artifacts.TunerResults, str(out / 'results'))]}
  on_beam = {'trials_on': 'beam', 'parallel_trials': 2} if beam_args else {}
  context = (base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args)
             if beam_args else None)
  tuner_executor.Executor(context).Do(helpers.transformed_inputs(transformed), output_dict, {
      'tuner_fn': 'tfx_hypertune.model.tuner_fn.tuner_fn',
      'train_args': json.dumps({'splits': ['train']}),
      'eval_args': json.dumps({'splits': ['eval']}),
      'custom_config': json_utils.dumps(user_function_config(config, 'test')),
      'search_state_dir': str(out / 'state'), 'trial_stopping': rule, **on_beam})
  with open(out / 'results' / 'search_info.json') as f:
    info = json.load(f)
  with open(out / 'results' / 'trials.csv') as f:
    rows = list(csv.DictReader(f))
  return info, rows


@pytest.fixture(scope='module')
def both(transformed_digits, tmp_path_factory):
  searches = {rule: _search(transformed_digits, tmp_path_factory.mktemp(rule), rule)
              for rule in ('none', 'median')}
  searches['median on beam'] = _search(transformed_digits, tmp_path_factory.mktemp('beam'),
                                       'median', TWO_BEAM_WORKERS, HALF_HOPELESS)
  return searches


def test_the_median_rule_stops_weak_trials_and_spends_fewer_epochs(both):
  (plain, _), (ruled, ruled_rows) = both['none'], both['median']
  assert plain['stopped_early'] == {} and plain['trial_stopping'] == 'none'
  assert ruled['trial_stopping'] == 'median' and ruled['stopped_early']
  assert ruled['epochs_trained'] < plain['epochs_trained']
  for row in ruled_rows:  # trials.csv says which, and at which epoch
    stopped = ruled['stopped_early'].get(row['trial_id'])
    assert row['stopped_early_at'] == (str(stopped) if stopped else '')
    if stopped:
      assert row['status'] == 'COMPLETED' and int(row['epochs_run']) == stopped
      assert stopped > 2  # after the warm-up


def test_the_best_trial_is_the_same_with_the_rule(both):
  (plain, plain_rows), (ruled, ruled_rows) = both['none'], both['median']
  best_plain = helpers.best_row([r for r in plain_rows if r['status'] == 'COMPLETED'])
  best_ruled = helpers.best_row([r for r in ruled_rows if r['status'] == 'COMPLETED'])
  assert best_ruled['trial_id'] == best_plain['trial_id']
  assert best_ruled['trial_id'] not in ruled['stopped_early']
  assert ruled['selection']['trial_id'] == plain['selection']['trial_id']


def test_on_beam_the_driver_stops_weak_trials_through_the_exchange(both):
  """The same search on two Beam worker processes: each epoch's report went through the
  exchange to the driver's oracle, and its ruling back to the trial process, which stopped at
  the deciding epoch."""
  on_beam, rows = both['median on beam']
  assert on_beam['trials_on'] == 'beam' and on_beam['beam']['job_attempts'] == 1
  assert on_beam['stopped_early'] and on_beam['epochs_trained'] < 10 * 8
  by_id = {row['trial_id']: row for row in rows}
  for trial_id, epoch in on_beam['stopped_early'].items():
    assert float(by_id[trial_id]['learning_rate']) == 1e-6  # only hopeless ones
    assert int(by_id[trial_id]['epochs_run']) == epoch == int(by_id[trial_id]['stopped_early_at'])
