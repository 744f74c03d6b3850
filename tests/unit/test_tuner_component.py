"""The Tuner as a TFX component: every argument documented, values fixed when the pipeline is
built refused then in one line, and its lines logged as TFX components log (absl, INFO)."""

import inspect
import json
import logging
import os
import re

import keras_tuner
import pytest
from tfx.orchestration.data_types import RuntimeParameter
from tfx.proto import tuner_pb2
from tfx.types import channel_utils, standard_artifacts

import tfx_hypertune
from tfx_hypertune.components import log
from tfx_hypertune.components.tuner import (files, keras_tuner_private, oracle_mixin, oracles,
                                            progress, tuner_mixin)

EXAMPLES = channel_utils.as_channel([standard_artifacts.Examples()])


def _tuner(**kwargs):
  return tfx_hypertune.Tuner(examples=EXAMPLES, tuner_fn='my.module.tuner_fn', **kwargs)


def test_every_argument_has_an_args_entry():
  doc = tfx_hypertune.Tuner.__doc__
  section = doc[doc.index('  Args:'):]
  documented = set(re.findall(r'^    (\w+):', section, flags=re.M))
  arguments = set(inspect.signature(tfx_hypertune.Tuner.__init__).parameters) - {'self'}
  assert arguments == documented


@pytest.mark.parametrize('kwargs, message', [
    ({'select': 'cheapest'}, "select='cheapest': choose one of best, smallest_within, "
                             "fastest_within"),
    ({'trials_on': 'cluster'}, "trials_on='cluster': choose one of local, beam"),
    ({'tuning': 'sometimes'}, "tuning='sometimes': choose one of always, never, "
                              "if-data-changed"),
    ({'max_minutes': -5}, 'max_minutes=-5: must be 0 or more (minutes; 0: no clock)'),
    ({'select_tolerance': -0.1}, 'select_tolerance=-0.1: must be 0 or more'),
    ({'parallel_trials': 0}, 'parallel_trials=0: must be a positive integer'),
    ({'warm_start_trials': -1}, 'warm_start_trials=-1: must be 0 or more'),
    ({'max_epochs': 0}, 'max_epochs=0: must be a positive integer'),
    ({'parallel_trials': 3, 'tune_args': tuner_pb2.TuneArgs(num_parallel_trials=2)},
     'tune_args.num_parallel_trials=2 and parallel_trials=3: give one of them'),
])
def test_static_arguments_are_refused_when_the_pipeline_is_built(kwargs, message):
  with pytest.raises(ValueError) as error:
    _tuner(**kwargs)
  assert str(error.value).endswith(message) and '\n' not in str(error.value)


def test_runtime_parameters_are_checked_when_they_have_values():
  tuner = _tuner(max_minutes=RuntimeParameter(name='max_minutes', ptype=float, default=0.0),
                 max_epochs=RuntimeParameter(name='max_epochs', ptype=int, default=3),
                 select='smallest_within', select_tolerance=0.01, warm_start_trials=0)
  assert tuner.exec_properties['select'] == 'smallest_within'


def _oracle(directory):
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 1000)
  oracle = oracles.RandomSearchOracle(objective=keras_tuner.Objective('score', 'max'),
                                      max_trials=5, seed=1, hyperparameters=hp)
  oracle._set_project_dir(directory, 'trials')  # noqa: SLF001
  oracle.state_file = files.join(directory, 'trials', files.ORACLE_FILE)
  return oracle


def _finish(oracle, trial):
  oracle.update_trial(trial.trial_id, {'score': 1.0})
  trial.status = 'COMPLETED'
  oracle.end_trial(trial)


def test_a_run_interrupted_between_keras_tuners_writes_resumes_cleanly(tmp_path):
  """Keras Tuner writes a new trial's trial.json before oracle.json: an interrupt between the
  two leaves a RUNNING trial the oracle never recorded, which no one would run and which
  counted against max_trials. On reload it is forgotten (its folder set aside) and the search
  runs its plan exactly; a trial that was running is handed to the next tuner that asks."""
  oracle = _oracle(str(tmp_path))
  _finish(oracle, oracle.create_trial('tuner0'))
  running = oracle.create_trial('tuner1')  # running when the run was interrupted
  saved = json.loads(open(oracle.state_file).read())
  orphan = oracle.create_trial('tuner0')  # trial.json written, then the interrupt
  with open(oracle.state_file, 'w') as f:  # oracle.json as it was before that trial
    json.dump(saved, f)

  again = _oracle(str(tmp_path))
  again.reload()
  assert orphan.trial_id in again.trials  # Keras Tuner's reload takes every trial.json
  repaired = again.repair_reload()
  assert repaired == {'forgotten': [orphan.trial_id], 'closed': [],
                      'run_again': [running.trial_id]}
  assert orphan.trial_id not in again.trials
  assert any(p.name.startswith('unrecorded-') for p in (tmp_path / 'trials').iterdir())
  handed = again.create_trial('tuner7')  # any tuner, not only tuner1
  assert handed.trial_id == running.trial_id
  _finish(again, handed)
  while (trial := again.create_trial('tuner7')).status == 'RUNNING':
    _finish(again, trial)
  statuses = [t.status for t in again.trials.values()]
  assert statuses == ['COMPLETED'] * 5  # max_trials, each once


def test_a_trial_that_ended_after_the_last_save_is_not_run_again(tmp_path):
  """Interrupted after a trial's trial.json says COMPLETED but before oracle.json says it
  ended: Keras Tuner's reload sends the trial for retry, and the next tuner would train it
  again (a completed trial twice in the plan). The repair takes it off the retry queue."""
  oracle = _oracle(str(tmp_path))
  _finish(oracle, oracle.create_trial('tuner0'))
  trial = oracle.create_trial('tuner0')
  saved = open(oracle.state_file).read()  # as create_trial left it: the trial ongoing
  _finish(oracle, trial)  # trial.json COMPLETED, then the interrupt
  with open(oracle.state_file, 'w') as f:
    f.write(saved)
  again = _oracle(str(tmp_path))
  again.reload()
  assert again.repair_reload() == {'forgotten': [], 'closed': [trial.trial_id],
                                   'run_again': []}
  ran = []
  while (next_trial := again.create_trial('tuner0')).status == 'RUNNING':
    ran.append(next_trial.trial_id)
    _finish(again, next_trial)
  assert trial.trial_id not in ran and len(ran) == 3  # the rest of max_trials=5, once each
  assert sorted(again.end_order) == sorted(set(again.end_order))


def test_a_saved_oracle_without_the_tuners_file_is_resumed(tmp_path):
  """Killed as its first trial ended, a serial search has oracle.json but not the tuner's
  file, which Keras Tuner writes only after the trial (and without which it does not reload
  the oracle): the next tuner resumes the saved oracle all the same, the trial not run twice,
  and a tuner saves its file as its search begins."""
  def tuner():
    return keras_tuner.RandomSearch(lambda hp: hp.Int('units', 1, 100) and None,
                                    objective=keras_tuner.Objective('score', 'max'),
                                    max_trials=5, seed=1,
                                    directory=str(tmp_path), project_name='p')
  first = tuner()
  tuner_mixin.instrument(first)
  trial = first.oracle.create_trial('tuner0')
  _finish(first.oracle, trial)  # oracle.json and trial.json: ended; no tuner0.json yet
  assert not os.path.exists(keras_tuner_private.tuner_file(first))
  again = tuner()
  tuner_mixin.instrument(again)
  assert [t.trial_id for t in again.oracle.completed_trials()] == [trial.trial_id]
  assert again.oracle.create_trial('tuner0').trial_id != trial.trial_id
  again.on_search_begin()
  assert os.path.exists(keras_tuner_private.tuner_file(again))


def test_a_lost_worker_trial_runs_again_then_fails(tmp_path):
  oracle = _oracle(str(tmp_path))
  trial = oracle.create_trial('tuner1')
  for _ in range(oracle_mixin.MAX_LOST_RUNS - 1):
    assert oracle.run_again('tuner1', 'worker tuner1 died') == trial.trial_id
    assert oracle.create_trial('tuner0').trial_id == trial.trial_id  # another worker
    oracle.ongoing_trials['tuner1'] = oracle.ongoing_trials.pop('tuner0')
  oracle.run_again('tuner1', 'worker tuner1 died')
  assert oracle.trials[trial.trial_id].status == 'FAILED'
  assert 'worker tuner1 died (3 times; not run again)' in oracle.trials[trial.trial_id].message


def test_an_instrumented_object_says_what_it_is(tmp_path):
  tuner = keras_tuner.RandomSearch(lambda hp: None, objective='val_loss', max_trials=1,
                                   directory=str(tmp_path), project_name='p')
  tuner_mixin.instrument(tuner)
  assert type(tuner).__name__ == 'InstrumentedRandomSearch'
  assert type(tuner.oracle).__name__ == 'InstrumentedRandomSearchOracle'
  assert isinstance(tuner, keras_tuner.RandomSearch)
  assert isinstance(tuner.oracle, oracle_mixin.OracleExtras)


def test_the_tuner_logs_its_lines_through_absl_at_info(caplog):
  caplog.set_level(logging.INFO, logger='absl')
  progress.say('  [Tuner] a line')
  (record,) = [r for r in caplog.records if log.is_progress(r)]
  assert (record.name, record.levelno, record.getMessage()) == ('absl', logging.INFO,
                                                                '  [Tuner] a line')
