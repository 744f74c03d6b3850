"""Ctrl-C and SIGTERM during the search: one line, exit 130, the search state intact, and the
same command resumes. The child starts with SIGINT at its default (a background job of a
non-interactive shell, CI included, would inherit it ignored) in a session of its own, so the
test can signal its process group as a terminal does."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, read_digits_rows, write_csv

pytestmark = pytest.mark.e2e


def _start(args):
  return subprocess.Popen(
      [sys.executable, '-m', 'tfx_hypertune.hypertune.cli', *args], cwd=REPO,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
      preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _completed(state_root):
  done = 0
  for path in glob.glob(os.path.join(state_root, '*', 'trials', 'trial_*', 'trial.json')):
    try:
      with open(path) as f:
        done += json.load(f)['status'] == 'COMPLETED'
    except ValueError:  # being written as we look
      pass
  return done


def _interrupt_after(child, state_root, trials, send):
  deadline = time.monotonic() + 600
  while _completed(state_root) < trials:
    assert child.poll() is None, child.communicate()
    assert time.monotonic() < deadline, 'the search did not get that far in 10 minutes'
    time.sleep(0.1)
  send(child)
  out, err = child.communicate(timeout=300)
  return child.returncode, out, err


def _oracles_readable(state_root):
  oracles = glob.glob(os.path.join(state_root, '*', 'trials', 'oracle.json'))
  assert oracles
  for path in oracles:
    with open(path) as f:
      json.load(f)


def test_ctrl_c_then_sigterm_stop_the_search_in_one_line_and_it_resumes(tmp_path):
  header, rows = read_digits_rows(500)
  write_csv(tmp_path / 'data' / 'digits.csv', header, rows)
  args = ['run', '--data', str(tmp_path / 'data'), '--label', 'label', '--output-dir',
          str(tmp_path / 'runs'), '--max-epochs', '9', '--seed', '4']
  state_root = str(tmp_path / 'runs' / 'hypertune-data' / 'pipeline_root' / 'TunerState')

  # Ctrl-C: the terminal signals the whole process group.
  code, out, err = _interrupt_after(_start(args), state_root, 1,
                                    lambda child: os.killpg(child.pid, signal.SIGINT))
  assert code == 130, err[-3000:]
  assert err.strip().splitlines()[-1] == (
      'hypertune: interrupted (SIGINT) during Tuner; the search state is kept: run the same '
      'command to resume')
  assert 'Traceback' not in out + err
  assert 'Unable to register cuFFT factory' not in err  # no GPU noise on start-up
  _oracles_readable(state_root)
  finished = _completed(state_root)

  # SIGTERM to the process alone (what Kubernetes or a scheduler sends), in the resumed run.
  code, out, err = _interrupt_after(_start(args), state_root, finished + 1,
                                    lambda child: child.send_signal(signal.SIGTERM))
  assert code == 130, err[-3000:]
  assert f'(resuming: {finished} trials already finished)' in out
  assert err.strip().splitlines()[-1].startswith(
      'hypertune: interrupted (SIGTERM) during Tuner; the search state is kept')
  assert 'Traceback' not in out + err
  _oracles_readable(state_root)
