"""The exchange between the driver of trials on Beam (the Tuner's executor, sole owner of the
oracle) and its slots (long-running Beam DoFns, each running trial after trial), through files
in the search state directory: a local folder, gs://, s3:// or MinIO. Nothing needs a network
path from a worker to the Tuner's process (Dataflow workers cannot reach a Kubeflow pod), and
every file has one writer:

    <search dir>/beam/<execution>/
      done                          driver: the search is over, slots end
      slot-<k>/assign-<seq>.json    driver: the slot's seq-th trial (what the trial process runs)
      slot-<k>/stop-<seq>           driver: the rule for weak trials stops that trial
      slot-<k>/heard-<seq>.json     driver: the last epoch of that trial it has ruled on
      slot-<k>/heartbeat.json       slot: alive, and what it is doing (rewritten every few s)
      slot-<k>/epoch-<seq>-<e>.json trial process: the objective at epoch e (one file an epoch)
      slot-<k>/result-<seq>.json    slot: the trial's result (one_trial.result_of)
      slot-<k>/trial-<seq>.log      slot: the trial process's log

The driver learns of everything new with one listing of the execution's folder per look
(one list request on an object store, whatever the number of slots), and reads only the files
it has not read. Sequence numbers make each assignment's result its own file: a runner that
retries a slot's bundle re-runs the slot's current assignment and writes the same result
file again, which the driver reads once.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from typing import Any, Dict, List, Optional, Tuple

from tfx.dsl.io import fileio

from tfx_hypertune.components.tuner import files

DONE_FILE = 'done'
HEARTBEAT_FILE = 'heartbeat.json'
_ASSIGN = re.compile(r'assign-(\d+)\.json$')
_RESULT = re.compile(r'result-(\d+)\.json$')
_EPOCH = re.compile(r'epoch-(\d+)-(\d+)\.json$')
_SLOT = re.compile(r'slot-(\d+)$')


@dataclasses.dataclass
class Listing:
  """What one look at the exchange found: per slot, the sequence numbers of its results and
  its (seq, epoch) reports, and whether it has a heartbeat."""
  results: Dict[int, List[int]] = dataclasses.field(default_factory=dict)
  epochs: Dict[int, List[Tuple[int, int]]] = dataclasses.field(default_factory=dict)
  heartbeats: List[int] = dataclasses.field(default_factory=list)


class Exchange:
  """The files of one execution's exchange (see the module docstring)."""

  def __init__(self, root: str):
    self.root = root.rstrip('/')

  def slot_dir(self, slot: int) -> str:
    return files.join(self.root, f'slot-{slot}')

  def _path(self, slot: int, name: str) -> str:
    return files.join(self.slot_dir(slot), name)

  # -------------------------------------------------------------------------------------------
  # The driver writes.

  def assign(self, slot: int, seq: int, request: Dict[str, Any]) -> None:
    files.write_json(self._path(slot, f'assign-{seq:05d}.json'), request)

  def stop(self, slot: int, seq: int) -> None:
    files.write_text(self._path(slot, f'stop-{seq:05d}'), 'stop')

  def heard(self, slot: int, seq: int, epoch: int) -> None:
    files.write_json(self._path(slot, f'heard-{seq:05d}.json'), {'epoch': epoch})

  def finish(self) -> None:
    files.write_text(files.join(self.root, DONE_FILE), 'done')

  # -------------------------------------------------------------------------------------------
  # The driver reads.

  def look(self) -> Listing:
    listing = Listing()
    pattern = files.join(self.root, 'slot-*', '*')
    for path in fileio.glob(pattern):
      slot_match = _SLOT.search(posixpath.dirname(path))
      if not slot_match:
        continue
      slot, name = int(slot_match.group(1)), posixpath.basename(path)
      if (match := _RESULT.match(name)):
        listing.results.setdefault(slot, []).append(int(match.group(1)))
      elif (match := _EPOCH.match(name)):
        listing.epochs.setdefault(slot, []).append((int(match.group(1)), int(match.group(2))))
      elif name == HEARTBEAT_FILE:
        listing.heartbeats.append(slot)
    return listing

  def result(self, slot: int, seq: int) -> Dict[str, Any]:
    return files.read_json(self._path(slot, f'result-{seq:05d}.json'))

  def epoch_value(self, slot: int, seq: int, epoch: int) -> Dict[str, Any]:
    return files.read_json(self._path(slot, f'epoch-{seq:05d}-{epoch:04d}.json'))

  def heartbeat(self, slot: int) -> Optional[Dict[str, Any]]:
    try:
      return files.read_json(self._path(slot, HEARTBEAT_FILE))
    except (ValueError, OSError):  # being replaced as we read (object stores: never)
      return None

  def log_path(self, slot: int, seq: int) -> str:
    return self._path(slot, f'trial-{seq:05d}.log')

  # -------------------------------------------------------------------------------------------
  # A slot and its trial process write, and read what the driver wrote.

  def is_done(self) -> bool:
    return fileio.exists(files.join(self.root, DONE_FILE))

  def latest_assignment(self, slot: int) -> Tuple[Optional[int], Optional[Dict[str, Any]]]:
    """(seq, request) of the slot's newest assignment, or (None, None)."""
    seqs = [int(m.group(1)) for path in fileio.glob(self._path(slot, 'assign-*.json'))
            if (m := _ASSIGN.search(path))]
    if not seqs:
      return None, None
    seq = max(seqs)
    return seq, files.read_json(self._path(slot, f'assign-{seq:05d}.json'))

  def has_result(self, slot: int, seq: int) -> bool:
    return fileio.exists(self._path(slot, f'result-{seq:05d}.json'))

  def beat(self, slot: int, values: Dict[str, Any]) -> None:
    files.write_json(self._path(slot, HEARTBEAT_FILE), values)

  def write_result(self, slot: int, seq: int, result: Dict[str, Any]) -> None:
    files.write_json(self._path(slot, f'result-{seq:05d}.json'), result)

  def report_epoch(self, slot: int, seq: int, epoch: int, values: Dict[str, Any]) -> None:
    files.write_json(self._path(slot, f'epoch-{seq:05d}-{epoch:04d}.json'), values)

  def is_stopped(self, slot: int, seq: int) -> bool:
    return fileio.exists(self._path(slot, f'stop-{seq:05d}'))

  def last_heard(self, slot: int, seq: int) -> int:
    """The last epoch of the trial the driver has ruled on (0: none yet)."""
    try:
      return int(files.read_json(self._path(slot, f'heard-{seq:05d}.json'),
                                 default={}).get('epoch', 0))
    except (ValueError, OSError):  # being replaced as we read (object stores: never)
      return 0
