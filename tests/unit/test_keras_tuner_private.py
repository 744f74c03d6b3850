"""The private parts of Keras Tuner that keras_tuner_private.py relies on are still there, as
they were in the version it was written for. When an upgrade changes one of them, this fails
and says which."""

import inspect

import keras_tuner
from keras_tuner.src.engine import conditions

from tfx_hypertune.components.tuner import keras_tuner_private


def test_the_installed_keras_tuner_is_the_one_it_was_written_for():
  assert keras_tuner.__version__ == keras_tuner_private.WRITTEN_FOR


def test_hyperband_still_has_its_private_bracket_arithmetic():
  expected = {'_get_size': ['self', 'bracket_num', 'round_num'],
              '_get_epochs': ['self', 'bracket_num', 'round_num'],
              '_get_num_rounds': ['self', 'bracket_num'],
              '_get_num_brackets': ['self']}
  assert set(expected) == set(keras_tuner_private.HYPERBAND_BRACKET_METHODS)
  for name, parameters in expected.items():
    method = getattr(keras_tuner.oracles.HyperbandOracle, name)
    assert list(inspect.signature(method).parameters) == parameters, name


def test_parent_to_proto_still_prints_so_the_silencing_is_still_needed():
  assert 'print(' in inspect.getsource(conditions.Parent.to_proto)


def test_the_chief_servicer_still_takes_the_oracle_and_the_service_still_registers_it():
  from keras_tuner.src import protos
  from keras_tuner.src.distribute import oracle_chief
  assert list(inspect.signature(oracle_chief.OracleServicer.__init__).parameters) == [
      'self', 'oracle']
  assert callable(protos.get_service_grpc().add_OracleServicer_to_server)


def test_the_hyperband_tuner_still_builds_its_own_oracle():
  # If keras_tuner.Hyperband learns to take an oracle, init_hyperband_tuner_with can go.
  assert 'oracle' not in inspect.signature(keras_tuner.Hyperband.__init__).parameters


def test_failed_trials_print_their_traceback_only_under_the_debug_switch():
  from keras_tuner.src import config as config_module
  from keras_tuner.src.engine import base_tuner
  source = inspect.getsource(base_tuner.BaseTuner._try_run_and_update_trial)  # noqa: SLF001
  assert 'if config_module.DEBUG:' in source and 'traceback.print_exc()' in source
  keras_tuner_private.quiet_trial_tracebacks()
  assert config_module.DEBUG is False


def test_the_oracles_display_still_records_a_trials_begin():
  from keras_tuner.src.engine import oracle as oracle_module
  assert 'self._display.on_trial_begin(trial)' in inspect.getsource(oracle_module.Oracle)
  assert 'self.trial_start[trial.trial_id]' in inspect.getsource(
      oracle_module.Display.on_trial_end)


def test_a_reload_still_sends_the_ongoing_trials_for_retry():
  from keras_tuner.src.engine import oracle as oracle_module
  source = inspect.getsource(oracle_module.Oracle.reload)
  assert 'self._retry_queue.append(trial.trial_id)' in source
  assert 'self._random_values' in inspect.getsource(keras_tuner.oracles.HyperbandOracle)
