"""Every use of a private part of Keras Tuner, in one place, for the version it was written for.

Everything else in this package extends Keras Tuner through its public hooks (tuner_mixin.py,
oracle_mixin.py). What is here has no public route in keras-tuner 1.4.8:

- `Parent.to_proto` (engine/conditions.py) has a stray debug `print(self.values[0])`, which a
  parallel search's chief and workers call for every message about a conditional space:
  thousands of bare digits in the pipeline's log. A module-level `print` shadows the builtin
  for that module only.
- `hyperband_longest_first` mirrors HyperbandOracle's bracket arithmetic (`_get_size`,
  `_get_epochs`, `_get_num_rounds`, `_get_num_brackets`), which has no public form.
- The chief of a parallel search serves its oracle over gRPC with Keras Tuner's own servicer
  (`distribute/oracle_chief.OracleServicer` and the generated `protos` service), without Keras
  Tuner's blocking `start_server` loop, which waits forever for a dead worker's trial
  (local_pool.py watches the workers instead).
- `config.DEBUG` is on in 1.4.8, so `BaseTuner._try_run_and_update_trial` prints every failed
  trial's whole traceback to the console (the traceback is kept in `trial.message` all the
  same); it is switched off, and the Tuner says each failed trial in one line
  (progress.py), its traceback in the trial's folder.
- The ASHA oracle draws a new configuration as Keras Tuner's own oracles do, with
  `Oracle._random_values` (values not tried before, within the space's conditions).
- Keras Tuner's reload sends every trial that oracle.json lists as ongoing for retry
  (`Oracle._retry_queue`), a trial that ended after that save included: the repair of a
  reload (oracle_mixin.repair_reload) takes ended trials off that queue.
- A tuner reloads its oracle only when its own file (`BaseTuner._get_tuner_fname`,
  `<project>/<tuner id>.json`) exists, and a serial search writes that file only after its
  first trial ended: a run killed in between would start afresh over the saved oracle, and
  hand out the finished trial's id again. The Tuner reloads such an oracle itself
  (tuner_mixin.instrument) and saves the tuner as its search begins.
- An oracle that hands out a trial again (oracle_mixin: a lost worker's, an interrupted
  run's) tells Keras Tuner's display it began, as the oracle's own retry does
  (`Oracle._display.on_trial_begin`), or the display fails when the trial ends.
- `keras_tuner.Hyperband.__init__` builds its own HyperbandOracle; our tuner is Keras Tuner's
  Hyperband tuner (rounds train to `tuner/epochs` from their parent's checkpoint) over an
  oracle we build, so it runs `keras_tuner.Tuner.__init__` instead.

tests/unit/test_keras_tuner_private.py fails when any of these parts changes, and importing
this module warns when the installed Keras Tuner is not WRITTEN_FOR.
"""

import warnings

import keras_tuner
from keras_tuner.src import config as config_module
from keras_tuner.src import protos
from keras_tuner.src.distribute import oracle_chief
from keras_tuner.src.engine import conditions as conditions_module

WRITTEN_FOR = '1.4.8'
if keras_tuner.__version__ != WRITTEN_FOR:
  warnings.warn(f'tfx-hypertune extends private parts of keras-tuner {WRITTEN_FOR}; '
                f'{keras_tuner.__version__} is installed (components/tuner/keras_tuner_private.py)',
                stacklevel=2)

HYPERBAND_BRACKET_METHODS = ('_get_size', '_get_epochs', '_get_num_rounds', '_get_num_brackets')


def silence_parent_to_proto_print() -> None:
  conditions_module.print = lambda *args, **kwargs: None


def quiet_trial_tracebacks() -> None:
  """No traceback printed per failed trial (trial.message keeps it)."""
  config_module.DEBUG = False


class MirroredBrackets:
  """Mixed in front of a HyperbandOracle: its bracket b runs the plan of bracket
  (brackets - 1 - b), so the full-length bracket comes first; `tuner/bracket` in a trial's
  values is the real one (0: full-length trials)."""

  def _mirror(self, bracket_num):
    return self._get_num_brackets() - 1 - bracket_num

  def _get_size(self, bracket_num, round_num):
    return super()._get_size(self._mirror(bracket_num), round_num)

  def _get_epochs(self, bracket_num, round_num):
    return super()._get_epochs(self._mirror(bracket_num), round_num)

  def _get_num_rounds(self, bracket_num):
    return super()._get_num_rounds(self._mirror(bracket_num))

  def populate_space(self, trial_id):
    response = super().populate_space(trial_id)
    values = response.get('values')
    if values and 'tuner/bracket' in values:
      response = {**response, 'values': {
          **values, 'tuner/bracket': self._mirror(values['tuner/bracket'])}}
    return response


def tuner_file(tuner) -> str:
  """The tuner's own state file, whose existence makes Keras Tuner reload the oracle."""
  return tuner._get_tuner_fname()  # noqa: SLF001


def retry_queue(oracle) -> list:
  """The oracle's queue of trial ids to run again (the list itself: changes stick)."""
  return oracle._retry_queue  # noqa: SLF001


def random_values(oracle):
  """A new random configuration of the oracle's space (None when the space is exhausted)."""
  return oracle._random_values()  # noqa: SLF001


def display_trial_begin(oracle, trial) -> None:
  oracle._display.on_trial_begin(trial)  # noqa: SLF001


def add_oracle_servicer(oracle, server) -> None:
  """Serves `oracle` on the gRPC `server` as Keras Tuner's chief does (workers find it
  through KERASTUNER_ORACLE_IP/PORT)."""
  protos.get_service_grpc().add_OracleServicer_to_server(oracle_chief.OracleServicer(oracle),
                                                         server)


def init_hyperband_tuner_with(tuner, oracle, hypermodel, **kwargs) -> None:
  """keras_tuner.Hyperband's tuner over an oracle built elsewhere."""
  keras_tuner.Tuner.__init__(tuner, oracle=oracle, hypermodel=hypermodel, **kwargs)
