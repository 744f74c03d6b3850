"""Every search algorithm of our config through the Tuner's executor, on transformed digits rows
(the shared fixture in tests/conftest.py, no pipeline run): the plan's trial count, the best
values within the space, Hyperband's order of brackets, ASHA's rungs."""

import csv
import json

import pytest
from tfx.types import standard_artifacts
from tfx.utils import json_utils

from tfx_hypertune.components.tuner import executor as tuner_executor
from tfx_hypertune.model import search_config
from tests.e2e import helpers

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize('algorithm', ['random', 'bayesian', 'grid', 'hyperband',
                                       'hyperband_longest_first', 'asha'])
def test_each_algorithm_through_the_executor(transformed_digits, tmp_path, algorithm):
  """The executor alone, on transformed digits rows (tests/conftest.py), a tiny budget."""
  input_dict = helpers.transformed_inputs(transformed_digits)
  artifact = helpers.make_artifact
  output_dict = {
      'best_hyperparameters': [artifact(standard_artifacts.HyperParameters,
                                        str(tmp_path / 'hp'))],
      'tuner_results': [artifact(standard_artifacts.TunerResults, str(tmp_path / 'results'))],
  }
  from tfx_hypertune.pipeline import config as config_lib
  from tfx_hypertune.pipeline.pipeline import user_function_config
  config = config_lib.build_config({'search': {
      'algorithm': algorithm, 'max_trials': 2, 'max_epochs': 2, 'factor': 2,
      'space': {'num_layers': 1, 'units': {'kind': 'choice', 'values': [16, 32]},
                'dropout': 0.0}}})
  custom = user_function_config(config, 'test')
  exec_properties = {
      'tuner_fn': 'tfx_hypertune.model.tuner_fn.tuner_fn',
      'train_args': json.dumps({'splits': ['train']}),
      'eval_args': json.dumps({'splits': ['eval']}),
      'custom_config': json_utils.dumps(custom),
  }
  tuner_executor.Executor().Do(input_dict, output_dict, exec_properties)
  with open(tmp_path / 'hp' / 'best_hyperparameters.txt') as f:
    best = json.load(f)['values']
  assert best['units_0'] in (16, 32) and best['num_layers'] == 1
  with open(tmp_path / 'results' / 'trials.csv') as f:
    rows = list(csv.DictReader(f))
  # Hyperband sizes itself: max_epochs 2, factor 2 -> brackets of 2+1 and 2 trials.
  expected = search_config.planned_trials(custom['search'])
  # ASHA: Hyperband's 7 epochs as 5 one-epoch configurations, the best 2 promoted to 2.
  assert expected == {'random': 2, 'bayesian': 2, 'grid': 2, 'hyperband': 5,
                      'hyperband_longest_first': 5, 'asha': 7}[algorithm]
  assert len([r for r in rows if r['status'] == 'COMPLETED']) == expected
  if algorithm.startswith('hyperband'):
    # Keras Tuner's order starts with the aggressive bracket (1: two 1-epoch trials, the best
    # resumed to 2); longest-first starts with bracket 0, full-length trials.
    first = min(rows, key=lambda r: r['trial_id'])
    assert (first['bracket'], first['epochs_run']) == (
        ('1', '1') if algorithm == 'hyperband' else ('0', '2'))
    promoted = [r for r in rows if r['initial_epoch'] not in ('0', '')]
    assert len(promoted) == 1 and promoted[0]['bracket'] == '1'
  if algorithm == 'asha':
    # Rungs in place of brackets: bracket 0, round = rung. A promoted trial resumed its
    # parent's checkpoint at epoch 1, and its parent ranked in the top half of rung 0.
    assert {r['bracket'] for r in rows} == {'0'}
    promoted = [r for r in rows if r['round'] == '1']
    assert len(promoted) == 2
    assert all(r['initial_epoch'] == '1' and r['epochs_run'] == '1' for r in promoted)
