"""Trials on Beam without Beam: the driver (beam_trials.Driver) and the exchange of files
(exchange.py) around real Keras Tuner oracles, with slots simulated by the test (what a Beam slot
and its trial process write), scores given instead of trained (the e2e tests train).

Each look of the driver is one `step()`; a simulated slot finishes its trial after a number of
looks, so the tests see when a slot gets its next trial."""

import keras_tuner
import pytest
from apache_beam.options import pipeline_options
from keras_tuner.engine import trial as trial_module

from tfx_hypertune.components.tuner import (asha, beam_trials, early_stopping, exchange,
                                            one_trial, oracles, spec)


def _oracle(oracle_class, directory, **kwargs):
  hp = keras_tuner.HyperParameters()
  hp.Int('units', 1, 10_000)
  oracle = oracle_class(objective=keras_tuner.Objective('score', 'max'), seed=1,
                        hyperparameters=hp, **kwargs)
  oracle._set_project_dir(directory, 'plan')
  return oracle


class _Tuner:
  """What the driver needs of a tuner: its oracle, save, a trial's folder."""

  def __init__(self, oracle, directory):
    self.oracle = oracle
    self.directory = directory

  def save(self):
    self.oracle.save()

  def get_trial_dir(self, trial_id):
    return f'{self.directory}/trial_{trial_id}'


class _Slot:
  """A simulated slot: beats each look (unless dead), takes its newest assignment, and writes
  its result `looks` looks later, as a slot does after its trial process ends."""

  def __init__(self, ex, k, looks=1, project_dir=''):
    self.ex, self.k, self.looks, self.project_dir = ex, k, looks, project_dir
    self.dead = False
    self.beats = 0
    self.running = None  # (seq, request, looks left)
    self.ran = []

  def act(self):
    if self.dead:
      return
    self.beats += 1
    self.ex.beat(self.k, {'count': self.beats, 'worker': f'host:{self.k}'})
    if self.running is None:
      seq, request = self.ex.latest_assignment(self.k)
      if seq is not None and not self.ex.has_result(self.k, seq):
        self.running = (seq, request, self.looks)
      return
    seq, request, left = self.running
    if left > 1:
      self.running = (seq, request, left - 1)
      return
    trial = trial_module.Trial.from_state(request['trial'])
    self.ex.write_result(self.k, seq, _worker_result(trial, self.project_dir))
    self.ran.append(trial.trial_id)
    self.running = None


def _worker_result(trial, project_dir, status='COMPLETED'):
  """What a trial process reports for a trial whose score is its `units`."""
  handed = trial_module.Trial.from_state(trial.get_state())
  oracle = one_trial.OneTrialOracle(_oracle(keras_tuner.oracles.RandomSearchOracle,
                                            project_dir, max_trials=1), handed, project_dir)
  assert oracle.create_trial('slot0') is handed
  oracle.update_trial(handed.trial_id, {'score': float(handed.hyperparameters.get('units'))},
                      step=0)
  handed.status = status
  oracle.end_trial(handed)
  return one_trial.result_of(oracle)


def _search(tmp_path, oracle, slots, max_looks=2000, act=None):
  """Runs the driver with simulated slots until it is finished; returns the driver, the slots
  and, per look, which trial each slot had."""
  ex = exchange.Exchange(str(tmp_path / 'exchange'))
  driver = beam_trials.Driver(_Tuner(oracle, str(tmp_path / 'plan')), ex, len(slots))
  simulated = [_Slot(ex, k, looks, str(tmp_path)) for k, looks in enumerate(slots)]
  timeline = []
  for look in range(max_looks):
    if driver.finished():
      return driver, simulated, timeline
    for slot in simulated:
      slot.act()
    if act:
      act(look, driver, simulated)
    driver.step()
    timeline.append({k: s.trial.trial_id if s.trial else None for k, s in driver.slots.items()})
  raise AssertionError('the search did not finish')


def test_a_slot_that_finished_takes_the_next_trial_while_the_other_trains(tmp_path):
  """Slot 0 trains a trial in 1 look, slot 1 in 5: slot 0 gets trial after trial while
  slot 1 still has its first; every trial of max_trials runs once."""
  oracle = _oracle(oracles.RandomSearchOracle, str(tmp_path / 'o'), max_trials=8)
  driver, slots, timeline = _search(tmp_path, oracle, [1, 5])
  assert sorted(slots[0].ran + slots[1].ran) == sorted(oracle.trials)
  assert len(oracle.completed_trials()) == 8
  slow_first = next(t[1] for t in timeline if t[1])
  while_slow = {t[0] for t in timeline if t[1] == slow_first and t[0]}
  assert len(while_slow) >= 2  # slot 0 ran several trials during slot 1's one
  assert len(slots[0].ran) > len(slots[1].ran)
  assert driver.job_start_seconds() is not None


@pytest.mark.parametrize('oracle_class, kwargs', [
    (oracles.HyperbandOracle, {'max_epochs': 9, 'factor': 3}),
    (asha.ASHAOracle, {'max_epochs': 9, 'factor': 3, 'max_configurations': 12}),
])
def test_successive_halving_runs_its_whole_plan_with_refills(tmp_path, oracle_class, kwargs):
  """A round's promotions wait for their parents (Hyperband answers IDLE meanwhile); the
  search still runs exactly its plan, each promoted trial's parent completed before it."""
  from tfx_hypertune.components.tuner import plan
  oracle = _oracle(oracle_class, str(tmp_path / 'o'), **kwargs)
  _search(tmp_path, oracle, [1, 2, 3])
  assert len(oracle.completed_trials()) == plan.planned_trials(oracle) == len(oracle.trials)
  ended = oracle.end_order
  for trial in oracle.trials.values():
    parent = trial.hyperparameters.values.get('tuner/trial_id')
    assert parent is None or ended.index(parent) < ended.index(trial.trial_id)


def test_a_lost_slots_trial_runs_on_another_slot(tmp_path, monkeypatch):
  """Slot 1's heartbeat stops with a trial in hand: after LOST_AFTER_SECONDS the driver hands
  its trial to slot 0; the search completes with the full count, the trial counted once."""
  monkeypatch.setattr(beam_trials, 'LOST_AFTER_SECONDS', 0.2)
  import time
  oracle = _oracle(oracles.RandomSearchOracle, str(tmp_path / 'o'), max_trials=5)
  lost = []

  def kill_slot_one(look, driver, slots):
    if look >= 3 and slots[1].running is not None and not lost:  # mid-trial
      lost.append(slots[1].running[1]['trial_id'])
      slots[1].dead = True
    if lost:
      time.sleep(0.05)
  driver, slots, _ = _search(tmp_path, oracle, [2, 2], act=kill_slot_one)
  assert lost and lost[0] in slots[0].ran
  assert len(oracle.completed_trials()) == 5 and len(oracle.trials) == 5
  assert driver.slots[1].lost == 1


def test_a_result_written_twice_counts_once(tmp_path):
  """A runner that retries a slot's bundle has the slot write its result again."""
  oracle = _oracle(oracles.RandomSearchOracle, str(tmp_path / 'o'), max_trials=3)

  def rewrite(look, driver, slots):
    for k, _ in driver.slots.items():
      for seq in range(1, 4):
        if slots[k].ex.has_result(k, seq):
          slots[k].ex.write_result(k, seq, slots[k].ex.result(k, seq))
  _search(tmp_path, oracle, [1, 1], act=rewrite)
  assert len(oracle.completed_trials()) == 3 and len(oracle.end_order) == 3


def _driver_after_three_trials(tmp_path):
  """A median-rule search whose three finished trials reported 3 epochs each (best 0.8, 0.75,
  0.7), and a driver that has just assigned the next trial to its one slot."""
  oracle = _oracle(oracles.RandomSearchOracle, str(tmp_path / 'o'), max_trials=10)
  oracle.trial_stopping = 'median'
  for curve in ([0.5, 0.7, 0.8], [0.4, 0.6, 0.75], [0.3, 0.5, 0.7]):
    trial = oracle.create_trial('done')
    for epoch, value in enumerate(curve, start=1):
      oracle.update_trial(trial.trial_id, {'score': value, early_stopping.EPOCH_REPORT: epoch})
    oracle.update_trial(trial.trial_id, {'score': max(curve)})
    trial.status = 'COMPLETED'
    oracle.end_trial(trial)
  ex = exchange.Exchange(str(tmp_path / 'exchange'))
  driver = beam_trials.Driver(_Tuner(oracle, str(tmp_path / 'plan')), ex, 1)
  ex.beat(0, {'count': 1})
  driver.step()
  return oracle, ex, driver


def test_an_epoch_report_below_the_median_gets_a_stop_file_and_the_stop_is_recorded(tmp_path):
  """The driver replays each epoch a trial process reports into the oracle; the rule for weak
  trials answers, and the driver writes the trial's stop file."""
  oracle, ex, driver = _driver_after_three_trials(tmp_path)
  seq = driver.slots[0].seq
  channel = one_trial.EpochChannel(ex, 0, seq, answer_seconds=0)  # the test is the driver
  assert channel.send(1, {'score': 0.1, early_stopping.EPOCH_REPORT: 1}, 0) is False
  assert channel.send(2, {'score': 0.2, early_stopping.EPOCH_REPORT: 2}, 1) is False
  driver.step()
  assert channel.send(3, {'score': 0.3, early_stopping.EPOCH_REPORT: 3}, 2) is False
  driver.step()  # the driver reads epoch 3: below the median of 0.8, 0.75, 0.7
  assert ex.is_stopped(0, seq)
  trial_id = driver.slots[0].trial.trial_id
  assert oracle.extras.stopped_early == {trial_id: 3}
  # A trial process that did not wait for the ruling hears of the stop after its next epoch,
  # then ends: the oracle records where the trial really stopped.
  assert channel.send(4, {'score': 0.35, early_stopping.EPOCH_REPORT: 4}, 3) is True
  driver.step()
  ex.write_result(0, seq, {'updates': [{'metrics': {'score': 0.35}, 'step': 3}],
                           'status': 'COMPLETED',
                           'message': None, 'hyperparameters': None})
  driver.step()
  assert oracle.trials[trial_id].status == 'COMPLETED'
  assert oracle.extras.stopped_early == {trial_id: 4}


def test_a_failed_result_ends_the_trial_failed_and_the_search_goes_on(tmp_path):
  oracle = _oracle(oracles.RandomSearchOracle, str(tmp_path / 'o'), max_trials=3)
  ex = exchange.Exchange(str(tmp_path / 'exchange'))
  driver = beam_trials.Driver(_Tuner(oracle, str(tmp_path / 'plan')), ex, 1)
  ex.beat(0, {'count': 1})
  driver.step()
  trial = driver.slots[0].trial
  ex.write_result(0, 1, one_trial.failed_result('the trial process was killed (signal 9), '
                                                'then was killed (signal 9)'))
  driver.step()
  assert oracle.trials[trial.trial_id].status == 'FAILED'
  assert driver.slots[0].trial is not None and driver.slots[0].trial.trial_id != trial.trial_id


@pytest.mark.parametrize('args, per_machine', [
    ([], 1),
    (['--direct_running_mode=multi_processing', '--direct_num_workers=3'], 3),
    (['--direct_running_mode=in_memory', '--direct_num_workers=3'], 1),
    (['--runner=DataflowRunner', '--direct_num_workers=3'], 1),
])
def test_trials_sharing_a_machine(args, per_machine):
  options = pipeline_options.PipelineOptions(args)
  assert beam_trials.trials_per_machine(options) == per_machine


def test_an_unknown_place_for_trials_is_refused():
  with pytest.raises(ValueError, match="trials_on='cluster': choose one of local, beam"):
    spec.trials_location({'trials_on': 'cluster'})
  assert spec.trials_location({}) == 'local'


def test_a_trial_process_waits_for_the_drivers_ruling_on_each_epoch(tmp_path):
  """The trial process's report waits until the driver has ruled on its epoch (a stop or the
  heard file), so a weak trial stops at the deciding epoch however slow the driver's look."""
  import threading
  import time
  oracle, ex, driver = _driver_after_three_trials(tmp_path)
  channel = one_trial.EpochChannel(ex, 0, driver.slots[0].seq, answer_seconds=20)

  def slow_driver():
    for _ in range(3):
      time.sleep(0.5)
      driver.step()
  thread = threading.Thread(target=slow_driver)
  thread.start()
  answers = [channel.send(e, {'score': v, early_stopping.EPOCH_REPORT: e}, e - 1)
             for e, v in ((1, 0.1), (2, 0.2), (3, 0.3))]
  thread.join()
  assert answers == [False, False, True]  # stopped at epoch 3, the deciding one
