"""Ctrl-C and SIGTERM stop a run, every time, in one line.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be; raised in a
weakref callback or a __del__ it is printed as "Exception ignored in ..." and dropped, and the
run went on to the end and exited 0. SIGTERM (what a scheduler or Kubernetes sends) killed the
process with no word at all. Here both go through one handler that

- raises KeyboardInterrupt in the main thread, and raises it again every REDELIVER_SECONDS
  until the command has caught it (so a dropped one cannot let the run go on);
- during the Pusher, waits for it to finish writing the model version (the run then stops
  after it), so that `serving/` never holds half a model;
- on a second signal, exits at once (status 130) without any cleanup.

The command reports an interrupt as one line and exits 130 (128 + SIGINT, as shells do).
"""

import _thread
import os
import signal
import sys
import threading
from typing import Callable, Optional

EXIT_INTERRUPTED = 130
REDELIVER_SECONDS = 2.0
# Components that must not be cut short: a Pusher interrupted while copying leaves a partial
# model version that the next run's Evaluator would take as its baseline.
FINISH_FIRST = ('Pusher',)


class _State:
  received: Optional[int] = None   # the first signal's number
  caught = False                   # the command has handled the KeyboardInterrupt
  redelivering = False             # our own timer, not the user, raised this one


def install(running_component: Callable[[], Optional[str]]) -> None:
  """Installs the handler for SIGINT and SIGTERM; `running_component` names the component
  that is running (None between components)."""

  def handler(signum, frame):
    if _State.redelivering:
      _State.redelivering = False
      raise KeyboardInterrupt
    if _State.received is not None:
      os.write(2, b'hypertune: interrupted again: stopping at once\n')
      os._exit(EXIT_INTERRUPTED)  # noqa: SLF001
    _State.received = signum
    if running_component() in FINISH_FIRST:
      os.write(2, f'hypertune: interrupted; {running_component()} finishes writing first\n'
               .encode())
      return
    _redeliver_later()
    raise KeyboardInterrupt

  signal.signal(signal.SIGINT, handler)
  signal.signal(signal.SIGTERM, handler)
  sys.unraisablehook = _quiet_about_dropped_interrupts(sys.unraisablehook)


def _quiet_about_dropped_interrupts(default):
  """Python prints an interrupt raised in a __del__ or weakref callback ("Exception ignored
  in ...", with a traceback) and drops it; ours is raised again shortly, so say nothing."""

  def hook(unraisable):
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
      default(unraisable)
  return hook


def _redeliver_later() -> None:
  def redeliver():
    if not _State.caught:
      _State.redelivering = True
      _thread.interrupt_main()
      _redeliver_later()
  timer = threading.Timer(REDELIVER_SECONDS, redeliver)
  timer.daemon = True
  timer.start()


def received() -> bool:
  return _State.received is not None


def report(component: Optional[str], finished: bool = False) -> int:
  """The one line for an interrupted command (`finished`: it was held until the last
  component had written its output); returns the exit status."""
  _State.caught = True
  name = signal.Signals(_State.received or signal.SIGINT).name
  if finished:
    what = 'held until the Pusher had written its model version; the run is complete'
  elif component == 'Tuner':
    what = 'the search state is kept: run the same command to resume'
  elif component:
    what = 'finished components are reused: run the same command to go on'
  else:
    what = 'nothing was left half-written'
  where = f' during {component}' if component else ''
  print(f'hypertune: interrupted ({name}){where}; {what}', file=sys.stderr, flush=True)
  return EXIT_INTERRUPTED
