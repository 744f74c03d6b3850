"""The retune policy's decision and the reuse step, on real TFX artifacts and files."""

import json

import pytest
from tfx.types import standard_artifacts

from components.tuner import spec, tuning


def _previous(tmp_path, tuned_on):
  artifact = standard_artifacts.HyperParameters()
  artifact.uri = str(tmp_path / 'previous')
  (tmp_path / 'previous').mkdir()
  (tmp_path / 'previous' / 'best_hyperparameters.txt').write_text(
      json.dumps({'values': {'num_layers': 1, 'units_0': 32}}))
  artifact.set_string_custom_property(spec.TUNED_ON_PROPERTY, tuned_on)
  return artifact


@pytest.mark.parametrize('policy,previous,data,reuses', [
    ('always', True, 'a', False),
    ('never', False, 'a', False),  # the first run ever searches
    ('never', True, 'b', True),
    ('if-data-changed', True, 'a', True),
    ('if-data-changed', True, 'b', False),
    ('if-data-changed', False, 'a', False),
])
def test_decision(tmp_path, policy, previous, data, reuses):
  earlier = [_previous(tmp_path, tuned_on='a')] if previous else []
  decision = tuning.reuse_decision(policy, None, earlier, data)
  assert (decision.source_file is not None) == reuses
  assert decision.reason.startswith('reusing' if reuses else 'searching')


def test_an_imported_file_is_reused_even_on_the_first_run(tmp_path):
  imported = tmp_path / 'best.txt'
  imported.write_text(json.dumps({'values': {'num_layers': 2}}))
  decision = tuning.reuse_decision('never', str(imported), [], 'a')
  output = standard_artifacts.HyperParameters()
  output.uri = str(tmp_path / 'out')
  info = tuning.reuse(decision, output)
  assert json.loads((tmp_path / 'out' / 'best_hyperparameters.txt').read_text()) == {
      'values': {'num_layers': 2}}
  assert output.get_string_custom_property(spec.SOURCE_PROPERTY) == (
      f'reusing the imported file {imported}')
  assert info['trials_run'] == 0 and info['reused_file'] == str(imported)


def test_a_broken_file_fails_naming_it(tmp_path):
  imported = tmp_path / 'best.txt'
  imported.write_text('{not json')
  decision = tuning.reuse_decision('never', str(imported), [], 'a')
  output = standard_artifacts.HyperParameters()
  output.uri = str(tmp_path / 'out')
  with pytest.raises(ValueError, match='best.txt: not a best_hyperparameters file'):
    tuning.reuse(decision, output)


def test_config_rejects_an_imported_file_that_is_not_hyperparameters(tmp_path):
  from pipeline import config as config_lib
  imported = tmp_path / 'best.txt'
  imported.write_text('[1, 2]')
  with pytest.raises(config_lib.ConfigError, match=r'^hyperparameters: .*best.txt: not a'):
    config_lib.build_config({'hyperparameters': str(imported), 'tuning': 'never'})
  with pytest.raises(config_lib.ConfigError, match=r"^tuning: 'sometimes': choose one of"):
    config_lib.build_config({'tuning': 'sometimes'})
