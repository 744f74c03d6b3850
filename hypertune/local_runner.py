"""Runs the pipeline on this machine: LocalDagRunner (or BeamDagRunner) + SQLite ML Metadata."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Optional

from tfx.orchestration import metadata as tfx_metadata
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from tfx_hypertune.components import log
from tfx_hypertune.pipeline.config import Config
from tfx_hypertune.pipeline.pipeline import create_pipeline


# The component running now (None between components): named when a run fails.
RUNNING: Optional[str] = None


class ProgressReporter(logging.Handler):
  """Turns TFX's orchestration log lines into one short line per component, with elapsed time,
  and whether the component ran or was reused from the cache; prints the lines our components
  say (components/log.py) as they are."""

  _STARTED = re.compile(r'^(?:Component|node) (\S+) is running\.')
  _FINISHED = re.compile(r'^(?:Component|node) (\S+) is finished\.')
  _CACHED = re.compile(r'^A cached execution \d+ is used\.')
  # Which orchestrator really runs the nodes: the module that logs their start.
  ORCHESTRATORS = {'beam_dag_runner': 'BeamDagRunner', 'local_dag_runner': 'LocalDagRunner'}

  def __init__(self, stream=None):
    super().__init__(level=logging.INFO)
    self._stream = stream or sys.stdout
    self._started = time.monotonic()
    self._component_started = self._started
    self._cached = False
    self.orchestrator: Optional[str] = None

  def emit(self, record: logging.LogRecord) -> None:
    message = record.getMessage()
    global RUNNING
    if log.is_progress(record):  # a line our components say (the Tuner's trials, say)
      print(message, file=self._stream, flush=True)
    elif match := self._STARTED.match(message):
      if self.orchestrator is None:
        self.orchestrator = self.ORCHESTRATORS.get(record.module, record.module)
        self._print(f'orchestrator: {self.orchestrator}')
      RUNNING = match.group(1)
      self._component_started, self._cached = time.monotonic(), False
      self._print(f'{match.group(1)} ...')
    elif self._CACHED.match(message):
      self._cached = True
    elif match := self._FINISHED.match(message):
      RUNNING = None
      took = time.monotonic() - self._component_started
      self._print(f'{match.group(1)} {"reused from cache" if self._cached else "done"} '
                  f'({took:.1f}s)')

  def _print(self, text: str) -> None:
    print(f'[{time.monotonic() - self._started:6.1f}s] {text}', file=self._stream, flush=True)


def quiet_tensorflow_logs() -> None:
  """TensorFlow's C++ and Python info logs drown the progress lines; keep warnings."""
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  logging.getLogger('tensorflow').setLevel(logging.ERROR)
  logging.getLogger('apache_beam').setLevel(logging.WARNING)
  # Relays the log of every Beam worker process (trials on Beam start a pipeline per batch),
  # each with start-up warnings that say nothing to a user; its errors still show.
  logging.getLogger('apache_beam.runners.portability.local_job_service').setLevel(logging.ERROR)


def run_pipeline(config: Config, *, verbose: bool = False) -> None:
  """Builds and runs the pipeline with the configured local orchestrator."""
  os.makedirs(config.run_dir, exist_ok=True)
  metadata = tfx_metadata.sqlite_metadata_connection_config(config.metadata_path)
  pipeline = create_pipeline(config, metadata_connection_config=metadata)
  runner = BeamDagRunner() if config.orchestrator == 'beam' else LocalDagRunner()
  with _progress_logging(verbose):
    runner.run(pipeline)


class _progress_logging:
  """Routes absl/TFX logs to the progress reporter (and, when verbose, to stderr)."""

  def __init__(self, verbose: bool):
    self._verbose = verbose
    self._reporter: Optional[ProgressReporter] = None

  def __enter__(self):
    quiet_tensorflow_logs()
    absl_logger = logging.getLogger('absl')
    self._saved = (absl_logger.level, absl_logger.propagate)
    absl_logger.setLevel(logging.INFO)
    # Components call absl.logging.set_verbosity() as they run (Transform's executor, for
    # one), which would silence the INFO lines progress is read from: pin the level.
    absl_logger.setLevel = lambda level: None
    absl_logger.propagate = self._verbose
    self._reporter = ProgressReporter()
    absl_logger.addHandler(self._reporter)
    return self

  def __exit__(self, *exc):
    absl_logger = logging.getLogger('absl')
    absl_logger.removeHandler(self._reporter)
    del absl_logger.setLevel  # back to logging.Logger.setLevel
    absl_logger.setLevel(self._saved[0])
    absl_logger.propagate = self._saved[1]
    return False
