"""A Keras Tuner worker process for parallel trials (see local_pool.py).

local_pool.py forks it from the warm pool (`run_forked`); by hand it runs as

    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=N \
        python -m tfx_hypertune.components.tuner.worker ARGS.json

It rebuilds the tuner through the same tuner_fn as the chief; Keras Tuner sees the environment
and proxies every oracle call to the chief.
"""

import importlib
import os
import sys
import traceback
from typing import Any, Dict


def main(args_path: str) -> None:
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  from tfx_hypertune.components import filesystems
  from tfx_hypertune.components.tuner import files
  filesystems.support(args_path)
  tuner, fit_kwargs = build_tuner_from(files.read_json(args_path))
  tuner.search(**fit_kwargs)


def build_tuner_from(args: Dict[str, Any]):
  """The tuner and fit_kwargs that tuner_fn builds from a worker arguments file's content
  (local_pool.py and beam_trials.py write it): the same fn_args as the executor's, with the
  cores shared among the `workers` processes of this machine."""
  from tfx_hypertune.components import filesystems
  filesystems.support(args['working_dir'])
  from tfx_hypertune.components.tuner import keras3  # noqa: F401
  import tensorflow as tf
  from tfx.components.trainer import fn_args_utils
  from tfx.types import artifact_utils
  from tfx_hypertune.components.tuner import tuner_mixin
  share_cores(tf, int(args['workers']))
  input_dict = artifact_utils.parse_artifact_dict(args['input_dict'])
  exec_properties = args['exec_properties']
  fn_args = fn_args_utils.get_common_fn_args(input_dict, exec_properties, args['working_dir'])
  return tuner_mixin.build_tuner(exec_properties, fn_args, owns_oracle=False)


def share_cores(tf, workers: int) -> None:
  """Gives this process its share of the cores: N workers with all threads each would only
  contend. TensorFlow takes thread counts only before its context exists, and a worker forked
  from the warm pool may have one already: the pool preloads the script that started the run,
  and a script that runs TensorFlow at import (`tf.config...`, a constant) initialises it
  there. Such a worker keeps TensorFlow's own thread counts, says so in its log, and runs its
  trials all the same."""
  threads = max(1, (os.cpu_count() or 1) // workers)
  try:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
  except RuntimeError as e:  # "... cannot be modified after initialization"
    print(f'[hypertune worker] TensorFlow was initialised before this worker started ({e}); '
          f'it keeps its own thread counts instead of {threads}', flush=True)


def run_forked(args_path: str, log_path: str, environ: Dict[str, str]) -> None:
  """A worker forked from the warm pool: the chief's environment, output to its log file."""
  run_in_forked_process(main, (args_path,), log_path, environ)


def run_in_forked_process(function, args, log_path: str, environ: Dict[str, str]) -> None:
  """Runs function(*args) as a process forked from the warm pool: with `environ`, output to
  its log file, exit status 0 or 1 (its parent reads it). `function` may be given by its
  dotted name, so that a parent that only supervises need not import its module."""
  os.environ.clear()
  os.environ.update(environ)
  log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
  os.dup2(log, 1)
  os.dup2(log, 2)
  from absl import logging
  logging.set_verbosity(logging.INFO)  # the Tuner's lines (components/log.py) into the log
  code = 0
  try:
    if isinstance(function, str):
      module, _, name = function.rpartition('.')
      function = getattr(importlib.import_module(module), name)
    function(*args)
  except BaseException:  # noqa: BLE001  # the parent reports the exit status
    traceback.print_exc()
    code = 1
  _exit(code)


def _exit(code: int) -> None:
  # Skip interpreter teardown: tensorflow-io's S3 client aborts in it ("pure virtual method
  # called"), which would report a worker that finished its trials as dead.
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)  # noqa: SLF001


if __name__ == '__main__':
  main(sys.argv[1])
  _exit(0)
