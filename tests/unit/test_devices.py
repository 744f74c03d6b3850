"""One GPU per trial process where a machine has GPUs (components/tuner/devices.py): the
assignment, on made-up machines (no GPU here to prove more)."""

from tfx_hypertune.components.tuner import devices


def test_each_worker_or_slot_of_a_machine_sees_one_gpu_round_robin():
  gpus = ['0', '1', '2', '3']
  seen = [devices.environment_for(i, {'PATH': '/bin'}, gpus)[devices.VISIBLE] for i in range(6)]
  assert seen == ['0', '1', '2', '3', '0', '1']
  assert devices.environment_for(1, {'PATH': '/bin'}, gpus)['PATH'] == '/bin'


def test_without_gpus_nothing_is_set():
  assert devices.environment_for(3, {'PATH': '/bin'}, []) == {'PATH': '/bin'}


def test_the_visible_gpus_are_the_environments_or_the_drivers(tmp_path):
  assert devices.visible_gpus({'CUDA_VISIBLE_DEVICES': '2,5'}, str(tmp_path)) == ['2', '5']
  assert devices.visible_gpus({'CUDA_VISIBLE_DEVICES': '-1'}, str(tmp_path)) == []
  for gpu in ('0000:00:04.0', '0000:00:05.0'):
    (tmp_path / gpu).mkdir()
  assert devices.visible_gpus({}, str(tmp_path)) == ['0', '1']
  assert devices.visible_gpus({}, str(tmp_path / 'absent')) == []
  # A machine restricted to GPU 5 hands its one GPU to every process.
  assert devices.environment_for(2, {'CUDA_VISIBLE_DEVICES': '5'})['CUDA_VISIBLE_DEVICES'] == '5'
