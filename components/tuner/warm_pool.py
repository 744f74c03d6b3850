"""The warm pool: multiprocessing's fork server, started with TensorFlow, Keras Tuner, TFX and
the tuner_fn's module already imported, forks a trial worker in well under a second. Started
as a fresh interpreter, a worker spent about 20 s importing before its first trial
(BENCHMARKS.md, "Parallel trials"). The server only imports: it never runs a TensorFlow op, so
no TensorFlow thread pool exists yet to be lost in the fork.

Used by local_pool.py (local workers) and beam_slot.py (a Beam slot's trial processes). This
module imports only the standard library, so that a Beam worker that only supervises trial
processes never imports TensorFlow itself.
"""

import multiprocessing
import os
import socket
from multiprocessing import forkserver
from typing import Optional

# What every worker imports; '__main__' (the `hypertune` script, a bench script) so that a
# forked worker does not import it again. The tuner_fn's module is added by the caller.
# keras3 before tensorflow_transform: tf.keras must be resolved as Keras 3 first (keras3.py).
WARM_MODULES = ('__main__', 'tensorflow', 'keras', 'tfx_hypertune.components.tuner.keras3',
                'keras_tuner', 'tensorflow_transform',
                'tfx.components.trainer.fn_args_utils', 'tfx.components.util.udf_utils',
                'tfx_hypertune.components.tuner.worker', 'tfx_hypertune.components.tuner.one_trial')


def prewarm(tuner_fn: Optional[str] = None) -> None:
  """Starts the warm pool (in the background; returns at once) with WARM_MODULES and the
  module of `tuner_fn` ('tfx_hypertune.model.tuner_fn.tuner_fn') imported. Later calls do
  nothing while it
  runs."""
  modules = list(WARM_MODULES)
  if tuner_fn:
    modules.append(tuner_fn.rpartition('.')[0])
  pool().set_forkserver_preload(modules)
  # The server inherits this process's stdout and stderr, and importing TensorFlow and the
  # Google libraries prints start-up noise (CUDA factories, Python 3.10 notices) there: in the
  # middle of the pipeline's progress. It prints nothing else; each worker sends its own
  # output to its log file.
  saved = [os.dup(1), os.dup(2)]
  devnull = os.open(os.devnull, os.O_WRONLY)
  try:
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    forkserver.ensure_running()
  finally:
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    for fd in saved + [devnull]:
      os.close(fd)


def pool():
  return multiprocessing.get_context('forkserver')


def process_name() -> str:
  """host:pid of this process: which machine and process ran a trial (trial_stats.json)."""
  return f'{socket.gethostname()}:{os.getpid()}'
