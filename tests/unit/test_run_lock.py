"""One run per run folder: a second `hypertune run` refuses in one line naming the holder,
and the lock of a process that died (SIGKILL) is taken over."""

import os
import signal
import subprocess
import sys


from tests.conftest import REPO
from tfx_hypertune.hypertune import run_lock

HOLD = ('import sys, time\n'
        'from tfx_hypertune.hypertune import run_lock\n'
        'lock = run_lock.acquire(sys.argv[1])\n'
        'print("held", flush=True)\n'
        'time.sleep(600)\n')


def _holder(run_dir):
  child = subprocess.Popen([sys.executable, '-c', HOLD, str(run_dir)], stdout=subprocess.PIPE,
                           text=True)
  assert child.stdout.readline().strip() == 'held'
  return child


def test_a_second_run_refuses_naming_the_first_then_takes_over_a_dead_ones_lock(tmp_path):
  run_dir = tmp_path / 'runs' / 'hypertune-digits'
  first = _holder(run_dir)
  try:
    done = subprocess.run([sys.executable, '-m', 'tfx_hypertune.hypertune.cli', 'run',
                           '--output-dir', str(tmp_path / 'runs')], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == run_lock.EXIT_BUSY
    (line,) = done.stderr.strip().splitlines()[-1:]
    assert line.startswith(f'hypertune: busy: {run_dir}: another run is using it (pid '
                           f'{first.pid} on ')
    assert 'Traceback' not in done.stderr
    assert not (run_dir / 'metadata.sqlite').exists()  # it ran nothing
  finally:
    first.send_signal(signal.SIGKILL)
    first.wait()
  # The dead holder's lock file is still there, naming it; the next run takes the lock over.
  assert run_lock.holder_pid(str(run_dir)) == first.pid
  handle = run_lock.acquire(str(run_dir))
  try:
    assert run_lock.holder_pid(str(run_dir)) == os.getpid()
    # Now held here: another process is refused, naming this one.
    child = subprocess.run([sys.executable, '-c', HOLD, str(run_dir)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert child.returncode != 0
    assert f'another run is using it (pid {os.getpid()} on ' in child.stderr
  finally:
    handle.close()
