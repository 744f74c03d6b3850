"""Span folders: <data>/span-<N>/*.csv, one folder per span (a day, a batch, ...).

TFX's ExampleGen ingests the newest span by itself (the `{SPAN}` pattern); the rolling window
of older spans is ours (components/example_gen.py). Plain Python with an injectable `listdir`,
so the pre-flight data check uses it without importing TFX and executors use TFX's fileio
(gs://, s3://).
"""

import glob as glob_module
import os
import re
from typing import Callable, Dict, Iterable, List, Optional

from tfx_hypertune.components import csv_table

SPAN_PREFIX = 'span-'
SPAN_PATTERN = SPAN_PREFIX + '{SPAN}/*.csv'  # ExampleGen's input pattern for span folders
_SPAN_FOLDER = re.compile(r'^' + re.escape(SPAN_PREFIX) + r'(\d+)/?$')


def span_numbers(names: Iterable[str]) -> List[int]:
  """The span numbers among folder names, ascending."""
  return sorted(int(m.group(1)) for m in map(_SPAN_FOLDER.match, names) if m)


def list_spans(data_dir: str, listdir: Callable[[str], List[str]] = os.listdir) -> List[int]:
  return span_numbers(listdir(data_dir))


def window(spans: List[int], size: int, newest: Optional[int] = None) -> List[int]:
  """The last `size` spans up to `newest` (default: the newest there is), ascending."""
  eligible = [s for s in spans if newest is None or s <= newest]
  return eligible[-size:] if size > 0 else []


def span_folder(data_dir: str, span: int) -> str:
  return os.path.join(data_dir, f'{SPAN_PREFIX}{span}')


def window_files(data_dir: str, size: int, newest: Optional[int] = None,
                 listdir: Callable[[str], List[str]] = os.listdir,
                 glob: Callable[[str], List[str]] = glob_module.glob) -> Dict[int, List[str]]:
  """The CSV files a run reads from a rolling window of spans: {span: its data files
  (csv_table.data_files), sorted}, the spans ascending. The one rule for the pre-flight data
  check (os) and
  ExampleGen (TFX's fileio, for buckets)."""
  return {span: csv_table.data_files(glob(os.path.join(span_folder(data_dir, span), '*.csv')))
          for span in window(list_spans(data_dir, listdir), size, newest)}
