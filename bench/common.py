"""Shared by the benchmark scripts: the machine line, progress, a run's Tuner inputs, and
memory sampling of a process tree."""

import json
import os
import platform
import sys
import threading
import time
from typing import Any, Dict, List, Optional

import psutil

from tfx_hypertune.pipeline import config as config_lib  # noqa: E402  (installed by make)

REPO = str(config_lib.REPO_ROOT)


def log(message: str) -> None:
  print(message, file=sys.stderr, flush=True)


def alternating(variants: Dict[str, tuple], repeats: int, run) -> Dict[str, List[Any]]:
  """run(*variant) for each variant in turn, `repeats` times over (side by side, alternating:
  these machines are noisy); returns each variant's results by name."""
  measured: Dict[str, List[Any]] = {name: [] for name in variants}
  for repeat in range(repeats):
    for name, variant in variants.items():
      log(f'== repeat {repeat + 1}/{repeats}: {name}')
      result = run(*variant)
      measured[name].append(result)
      log(json.dumps(result))
  return measured


def machine_line(extra: str = '') -> str:
  memory = psutil.virtual_memory().total / 2**30
  return (f'Date {time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} cores, '
          f'{memory:.0f} GB; `{" ".join(sys.argv)}`{"; " + extra if extra else ""}')


def tuner_inputs(run_dir: str, hp_dir: str, results_dir: str):
  """input_dict and output_dict for the Tuner executor on a finished run's Transform output."""
  from tfx.types import standard_artifacts
  from tfx_hypertune.hypertune import results
  transform = results.latest_run(os.path.join(run_dir, 'metadata.sqlite'))['Transform']

  def artifact(cls, uri, split_names=None):
    a = cls()
    a.uri = uri
    if split_names:
      a.split_names = split_names
    return a

  inputs = {
      'examples': [artifact(standard_artifacts.Examples,
                            transform.uri('transformed_examples'), '["train", "eval"]')],
      'transform_graph': [artifact(standard_artifacts.TransformGraph,
                                   transform.uri('transform_graph'))]}
  outputs = {
      'best_hyperparameters': [artifact(standard_artifacts.HyperParameters, hp_dir)],
      'tuner_results': [artifact(standard_artifacts.TunerResults, results_dir)]}
  return inputs, outputs


def tuner_exec_properties(custom_config: Dict, **tuner_parameters) -> Dict[str, Any]:
  """The Tuner executor's exec_properties; tuner_parameters are spec.py's (parallel_trials,
  search_state_dir, ...)."""
  return {'tuner_fn': 'tfx_hypertune.model.tuner_fn.tuner_fn',
          'train_args': json.dumps({'splits': ['train']}),
          'eval_args': json.dumps({'splits': ['eval']}),
          'custom_config': json.dumps(custom_config), **tuner_parameters}


class TreeMemorySampler:
  """Samples the resident memory of a process and its children every `interval` seconds;
  `mark(label)` starts attributing samples to a new label (e.g. a component)."""

  def __init__(self, pid: int, interval: float = 0.25):
    self._process = psutil.Process(pid)
    self._interval = interval
    self._label: Optional[str] = None
    self.peaks: Dict[str, int] = {}
    self.peak = 0
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._run, daemon=True)

  def mark(self, label: Optional[str]) -> None:
    self._label = label

  def __enter__(self):
    self._thread.start()
    return self

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()

  def _run(self) -> None:
    while not self._stop.wait(self._interval):
      rss = self._rss()
      self.peak = max(self.peak, rss)
      if self._label:
        self.peaks[self._label] = max(self.peaks.get(self._label, 0), rss)

  def _rss(self) -> int:
    try:
      processes: List[psutil.Process] = [self._process] + self._process.children(recursive=True)
    except psutil.Error:
      return 0
    total = 0
    for process in processes:
      try:
        total += process.memory_info().rss
      except psutil.Error:
        pass
    return total


_STARTED = __import__('re').compile(r'^\[\s*[\d.]+s\] (\S+) \.\.\.$')
_DONE = __import__('re').compile(r'^\[\s*[\d.]+s\] (\S+) (?:done|reused from cache) \(([\d.]+)s\)')


def run_pipeline(args: List[str], log_path: str):
  """`hypertune run ARGS` as a subprocess. Returns (wall seconds, {component: seconds},
  {component: peak RSS bytes of the process tree while it ran}, overall peak RSS)."""
  import subprocess
  command = [os.path.join(REPO, '.venv', 'bin', 'hypertune'), 'run', *args]
  component_seconds: Dict[str, float] = {}
  started = time.monotonic()
  with open(log_path, 'w') as log_file:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=REPO)
    with TreeMemorySampler(process.pid) as sampler:
      sampler.mark('start-up (imports, data check)')
      for line in process.stdout:
        log_file.write(line)
        line = line.rstrip()
        begun, done = _STARTED.match(line), _DONE.match(line)
        if begun:
          sampler.mark(begun.group(1))
          log(f'  {line}')
        elif done:
          component_seconds[done.group(1)] = float(done.group(2))
          sampler.mark('finishing (summary)')
      code = process.wait()
  if code != 0:
    raise RuntimeError(f'hypertune run failed with status {code}; log: {log_path}')
  return time.monotonic() - started, component_seconds, sampler.peaks, sampler.peak
