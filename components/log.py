"""How the platform's components speak while they run: absl logging at INFO, as TFX's own
components do, so Kubeflow, Vertex and Airflow capture it with the rest of a task's log.

Every line also carries a mark (PROGRESS), by which an application that shows its own progress
(the `hypertune` command: hypertune/local_runner.py) picks these lines out of TFX's log.
"""

from absl import logging

PROGRESS = 'hypertune_progress'  # set on the log records of say()


def say(line: str) -> None:
  logging.info('%s', line, extra={PROGRESS: True})


def is_progress(record) -> bool:
  return bool(getattr(record, PROGRESS, False))
