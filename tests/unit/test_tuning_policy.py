"""The retune policy's decision and the reuse step, on real TFX artifacts and files."""

import json

import pytest
from tfx.types import standard_artifacts

from tfx_hypertune.components.tuner import spec, tuning


def _searched(state_root, dataset, tuned_on, width=32):
  """What a finished search leaves: its best values remembered under the state dir."""
  hp_dir = state_root.parent / f'hp-{dataset}-{tuned_on}'
  hp_dir.mkdir(parents=True)
  (hp_dir / 'best_hyperparameters.txt').write_text(
      json.dumps({'values': {'num_layers': 1, 'units_0': width}}))
  return tuning.remember(str(state_root), dataset, str(hp_dir), tuned_on, f'results-{tuned_on}')


@pytest.mark.parametrize('policy,previous,data,reuses', [
    ('always', True, 'a', False),
    ('never', False, 'a', False),  # the first run ever searches
    ('never', True, 'b', True),
    ('if-data-changed', True, 'a', True),
    ('if-data-changed', True, 'b', False),
    ('if-data-changed', False, 'a', False),
])
def test_decision(tmp_path, policy, previous, data, reuses):
  state = tmp_path / 'TunerState'
  if previous:
    _searched(state, 'digits', tuned_on='a')
  decision = tuning.reuse_decision(policy, None, tuning.previous_search(str(state), 'digits'),
                                   data)
  assert (decision.source_file is not None) == reuses
  assert decision.reason.startswith('reusing' if reuses else 'searching')


def test_the_latest_search_per_dataset_is_what_gets_reused(tmp_path):
  state = tmp_path / 'TunerState'
  _searched(state, 'digits', tuned_on='a', width=16)
  _searched(state, 'digits', tuned_on='b', width=64)  # a later search replaces it
  _searched(state, 'pets', tuned_on='c', width=8)
  latest = tuning.previous_search(str(state), 'digits')
  assert latest.tuned_on == 'b' and latest.results == 'results-b'
  decision = tuning.reuse_decision('never', None, latest, 'z')
  assert decision.source_file == str(state / 'latest' / 'digits' / 'best_hyperparameters.txt')
  assert json.loads(open(decision.source_file).read())['values']['units_0'] == 64
  # A dataset never searched searches, and says that others were.
  assert tuning.previous_search(str(state), 'survey') is None
  assert tuning.other_datasets_searched(str(state), 'survey')
  decision = tuning.reuse_decision('never', None, None, 'z', other_datasets=True)
  assert decision.source_file is None and 'another dataset' in decision.reason
  assert not tuning.other_datasets_searched(str(tmp_path / 'nothing'), 'digits')


def test_an_imported_file_is_reused_even_on_the_first_run(tmp_path):
  imported = tmp_path / 'best.txt'
  imported.write_text(json.dumps({'values': {'num_layers': 2}}))
  decision = tuning.reuse_decision('never', str(imported), None, 'a')
  output = standard_artifacts.HyperParameters()
  output.uri = str(tmp_path / 'out')
  info = tuning.reuse(decision, output)
  assert json.loads((tmp_path / 'out' / 'best_hyperparameters.txt').read_text()) == {
      'values': {'num_layers': 2}}
  assert output.get_string_custom_property(spec.SOURCE_PROPERTY) == (
      f'reusing the imported file {imported}')
  assert info.trials_run == 0 and info.reused_file == str(imported)


def test_a_broken_file_fails_naming_it(tmp_path):
  imported = tmp_path / 'best.txt'
  imported.write_text('{not json')
  decision = tuning.reuse_decision('never', str(imported), None, 'a')
  output = standard_artifacts.HyperParameters()
  output.uri = str(tmp_path / 'out')
  with pytest.raises(ValueError, match='best.txt: not a best_hyperparameters file'):
    tuning.reuse(decision, output)


def test_config_rejects_an_imported_file_that_is_not_hyperparameters(tmp_path):
  from tfx_hypertune.pipeline import config as config_lib
  imported = tmp_path / 'best.txt'
  imported.write_text('[1, 2]')
  with pytest.raises(config_lib.ConfigError, match=r'^hyperparameters: .*best.txt: not a'):
    config_lib.build_config({'hyperparameters': str(imported), 'tuning': 'never'})
  with pytest.raises(config_lib.ConfigError, match=r"^tuning: 'sometimes': choose one of"):
    config_lib.build_config({'tuning': 'sometimes'})


def test_decide_reads_the_remembered_search_for_a_reusing_policy_only(tmp_path):
  state = tmp_path / 'TunerState'
  _searched(state, 'digits', tuned_on='a')
  assert tuning.decide('always', None, str(state), 'digits', 'a').reason == 'searching'
  reused = tuning.decide('never', None, str(state), 'digits', 'b')
  assert reused.source_file == str(state / 'latest' / 'digits' / 'best_hyperparameters.txt')
  other = tuning.decide('if-data-changed', None, str(state), 'pets', 'a')
  assert other.source_file is None and 'another dataset' in other.reason
  first = tuning.decide('never', None, str(tmp_path / 'empty'), 'digits', 'a')
  assert first.reason == 'searching: no earlier search on this dataset (first run)'


def test_an_unknown_policy_stops_the_tuner_naming_the_parameter(tmp_path):
  """A drop-in user's Tuner(tuning='sometimes') must not be read as 'reuse' (the config
  checks its own value; the component's parameter is checked here)."""
  with pytest.raises(ValueError, match=r"tuning='sometimes': choose one of always, never, "
                                       r"if-data-changed"):
    tuning.decide('sometimes', None, str(tmp_path / 'TunerState'), 'digits', 'a')
  assert tuning.decide(None, None, str(tmp_path / 'TunerState'), 'digits', 'a').reason == (
      'searching')
