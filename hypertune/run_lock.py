"""One run of a pipeline at a time.

Two runs in one run folder (a cron run that overlaps the next, two people) searched the same
state directory at once and compared themselves with each other's pushed model. `hypertune run`
now holds an exclusive lock on the run folder (it holds the ML Metadata store, the search
state of a local root and the pushed models) for as long as it runs; a second run refuses in
one line that names the run holding it.

The lock is fcntl.flock on `<run folder>/.run.lock`: the kernel releases it when its process
dies, however it dies, so a stale lock (SIGKILL, a crash, a reboot) is simply taken over. The
file also says who holds it, for the message. A bucket root shared by several machines is
not covered: object stores have no locks (on Kubeflow, `submit --schedule` runs one at a
time: max_concurrency=1).
"""

import fcntl
import json
import os
import socket
import sys
import time
from typing import IO, Optional

LOCK_FILE = '.run.lock'
EXIT_BUSY = 75  # EX_TEMPFAIL: try again later


class RunFolderBusy(RuntimeError):
  """Another run holds the run folder; the message names it."""


def acquire(run_dir: str) -> IO[str]:
  """Locks run_dir for this process; returns the open lock file (keep it open: closing it,
  or the process ending, releases the lock). Raises RunFolderBusy if another run has it."""
  os.makedirs(run_dir, exist_ok=True)
  path = os.path.join(run_dir, LOCK_FILE)
  handle = open(path, 'a+', encoding='utf-8')
  try:
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = _holder(handle)
    handle.close()
    raise RunFolderBusy(f'{run_dir}: another run is using it ({holder}); wait for it to end '
                        f'or stop it, then run again') from None
  handle.seek(0)
  handle.truncate()
  handle.write(json.dumps({'pid': os.getpid(), 'host': socket.gethostname(),
                           'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                           'command': ' '.join(os.path.basename(a) if i == 0 else a
                                               for i, a in enumerate(sys.argv))}))
  handle.flush()
  return handle


def _holder(handle: IO[str]) -> str:
  handle.seek(0)
  try:
    info = json.loads(handle.read() or '{}')
  except ValueError:
    info = {}
  if not info:
    return 'its details are not written yet'
  return (f'pid {info.get("pid")} on {info.get("host")}, started {info.get("started")}: '
          f'{info.get("command")}')


def holder_pid(run_dir: str) -> Optional[int]:
  """The pid the lock file names (for tests and messages); None if there is none."""
  try:
    with open(os.path.join(run_dir, LOCK_FILE), encoding='utf-8') as f:
      return json.loads(f.read() or '{}').get('pid')
  except (OSError, ValueError):
    return None
