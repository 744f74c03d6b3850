import dataclasses
import os

import pytest

from tfx_hypertune.pipeline import config as config_lib
from tests.conftest import REPO


def test_defaults_build_the_documented_search_space():
  config = config_lib.load_config()
  space = {spec.name: spec for spec in config.search.space}
  assert (space['units'].min, space['units'].max, space['units'].step) == (16, 512, 16)
  assert space['learning_rate'].values == (1e-2, 1e-3, 1e-4)
  assert (space['num_layers'].min, space['num_layers'].max) == (1, 3)
  assert (space['dropout'].min, space['dropout'].max) == (0.0, 0.5)
  assert config.search.algorithm == 'hyperband'
  assert config.search.objective == 'val_accuracy'
  assert config.search.early_stopping_patience == 5


def test_committed_config_file_spells_out_the_defaults():
  from_file = config_lib.load_config(os.path.join(REPO, 'hypertune.yaml'))
  defaults = config_lib.load_config(overrides={'output_dir': os.path.join(REPO, 'runs')})
  assert from_file == dataclasses.replace(defaults, data=dataclasses.replace(
      defaults.data, path=os.path.join(REPO, 'data', 'digits')))


def test_overrides_and_relative_paths(tmp_path):
  path = tmp_path / 'c.yaml'
  path.write_text('data: {path: mydata, label: y}\nsearch: {max_epochs: 4}\n')
  config = config_lib.load_config(str(path), {'search.factor': 4, 'seed': 7})
  assert config.data.path == str(tmp_path / 'mydata')
  assert config.data.label == 'y'
  assert (config.search.max_epochs, config.search.factor, config.seed) == (4, 4, 7)


def test_bare_value_fixes_a_hyperparameter():
  config = config_lib.build_config({'search': {'space': {'dropout': 0.25}}})
  dropout = next(s for s in config.search.space if s.name == 'dropout')
  assert (dropout.kind, dropout.value) == ('fixed', 0.25)


@pytest.mark.parametrize('raw, message', [
    ({'search': {'space': {'units': {'kind': 'int', 'min': 64, 'max': 16}}}},
     'search.space.units: min 64 is above max 16'),
    ({'search': {'space': {'units': {'kind': 'integer', 'min': 1, 'max': 2}}}},
     "search.space.units.kind: 'integer': unknown hyperparameter kind"),
    ({'search': {'factor': 1}}, 'search.factor: 1: Hyperband needs an integer factor'),
    ({'search': {'max_epochs': 0}}, 'search.max_epochs: 0: must be a positive integer'),
    ({'search': {'max_minutes': -5}}, 'search.max_minutes: -5: must be a positive number'),
    ({'search': {'max_minutes': 'soon'}}, "search.max_minutes: 'soon': must be a positive"),
    ({'search': {'algorithm': 'genetic'}}, "search.algorithm: 'genetic': choose one of"),
    ({'search': {'space': {'width': {'kind': 'int', 'min': 1, 'max': 2}}}},
     'search.space.width: unknown hyperparameter'),
    ({'search': {'space': {'learning_rate': {'kind': 'choice', 'values': []}}}},
     'search.space.learning_rate.values: a choice needs a non-empty list'),
    ({'search': {'space': {'dropout': {'kind': 'float', 'min': 0, 'max': 1.5}}}},
     'search.space.dropout: dropout must lie in [0, 1)'),
    ({'evaluation': {'accuracy_threshold': 1.5}}, 'evaluation.accuracy_threshold: 1.5'),
    ({'serach': {}}, 'serach: unknown setting'),
    ({'search': {'max_epoch': 3}}, 'search.max_epoch: unknown setting'),
    ({'pipeline_name': 'a b'}, "pipeline_name: 'a b'"),
    ({'data': {'task': 'forecast'}}, "data.task: 'forecast': choose one of auto, "),
    ({'data': {'task': 'classification'}, 'search': {'objective': 'val_mean_absolute_error'}},
     "search.objective: 'val_mean_absolute_error': choose val_accuracy or val_loss or val_auc "
     "or val_balanced_accuracy"),
    ({'data': {'task': 'regression'}, 'search': {'objective': 'val_auc'}},
     "search.objective: 'val_auc': choose val_accuracy or val_loss or val_mean_absolute_error"),
    ({'training': {'class_weight': 'inverse'}},
     "training.class_weight: 'inverse': choose one of none, balanced"),
    ({'data': {'task': 'regression'}, 'training': {'class_weight': 'balanced'}},
     'training.class_weight: a regression has no classes to weigh'),
    ({'evaluation': {'rmse_threshold': -1}},
     'evaluation.rmse_threshold: -1: must be a positive number'),
    ({'search': {'trials_on': 'kubernetes'}},
     "search.trials_on: 'kubernetes': choose one of local, beam"),
    ({'search': {'beam_pipeline_args': '--runner=DataflowRunner'}},
     'search.beam_pipeline_args: must be a list of Beam arguments'),
])
def test_invalid_settings_are_named(raw, message):
  with pytest.raises(config_lib.ConfigError) as error:
    config_lib.build_config(raw)
  assert str(error.value).startswith(message), str(error.value)


def test_a_regression_optimises_a_loss_not_accuracy():
  config = config_lib.build_config({})
  assert config.data.task == 'auto' and config.search.objective == 'val_accuracy'
  regression = config_lib.with_task(config, 'regression')
  assert regression.data.is_regression and regression.search.objective == 'val_loss'
  chosen = config_lib.build_config({'data': {'task': 'regression'},
                                    'search': {'objective': 'val_mean_absolute_error'}})
  assert config_lib.with_task(chosen, 'regression').search.objective == (
      'val_mean_absolute_error')
  assert config_lib.with_task(config, 'classification').search.objective == 'val_accuracy'
  example = config_lib.load_config(os.path.join(REPO, 'examples', 'diabetes.yaml'))
  assert example.data.task == 'regression' and example.data.label == 'progression'
  assert example.data.path == os.path.join(REPO, 'data', 'diabetes')


def test_what_only_the_data_can_refuse_is_refused_once_it_is_read():
  auc = config_lib.build_config({'search': {'objective': 'val_auc'},
                                 'training': {'class_weight': 'balanced'}})
  assert config_lib.with_task(auc, 'classification', 2).search.objective == 'val_auc'
  with pytest.raises(config_lib.ConfigError, match='search.objective: val_auc needs a label with '
                     'two classes; this one has 3: use val_balanced_accuracy'):
    config_lib.with_task(auc, 'classification', 3)
  with pytest.raises(config_lib.ConfigError, match="'val_auc': the label is a regression target"):
    config_lib.with_task(auc, 'regression')


def test_bad_yaml_names_the_file(tmp_path):
  path = tmp_path / 'bad.yaml'
  path.write_text('search: [unclosed\n')
  with pytest.raises(config_lib.ConfigError, match=f'config file {path}: not valid YAML'):
    config_lib.load_config(str(path))


def test_yaml_is_loaded_safely(tmp_path):
  path = tmp_path / 'evil.yaml'
  path.write_text('seed: !!python/object/apply:os.getcwd []\n')
  with pytest.raises(config_lib.ConfigError, match='not valid YAML'):
    config_lib.load_config(str(path))


def test_the_tuner_beam_arguments_default_to_the_direct_runners_processes():
  search = config_lib.build_config({'search': {'trials_on': 'beam', 'parallel_trials': 3}}).search
  assert config_lib.tuner_beam_pipeline_args(search) == [
      '--direct_running_mode=multi_processing', '--direct_num_workers=3']
  own = ['--runner=DataflowRunner', '--project=p', '--region=europe-west4']
  search = config_lib.build_config({'search': {'trials_on': 'beam',
                                               'beam_pipeline_args': own}}).search
  assert search.beam_pipeline_args == tuple(own)
  assert config_lib.tuner_beam_pipeline_args(search) == own
