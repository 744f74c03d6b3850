"""How a CSV file is read: one reader for the pre-flight data check and for ExampleGen, so the
two agree on every file (if the check passes, the pipeline reads the same columns and values).

- Python's csv module: quoting (a quoted header too), doubled quotes, fields with newlines,
  CRLF or LF line ends; a UTF-8 byte-order mark is dropped.
- Whitespace around a field is stripped (`label, a, "b"` reads as `label,a,b`); the data
  check counts the fields it changed and the run's summary says so.
- A cell that spells a missing value (MISSING_SPELLINGS, any case: NaN, NA, N/A, null) is
  missing, like an empty cell (Transform fills it in). Infinities are numbers that no
  model can use: the data check refuses them, naming the file, line and column.
"""

import csv
import io
import math
from typing import IO, Iterator, List, Tuple

MISSING_SPELLINGS = frozenset({'nan', '+nan', '-nan', 'na', 'n/a', 'null'})
ENCODING = 'utf-8-sig'  # UTF-8, with or without a byte-order mark


def text_stream(binary: IO[bytes]) -> io.TextIOWrapper:
  """A binary file (open(), TFX's fileio, Beam's FileSystems) as text the csv module reads."""
  if not hasattr(binary, 'readable'):  # tf.io.gfile.GFile has read() only
    binary = io.BufferedReader(_RawReader(binary))
  return io.TextIOWrapper(binary, encoding=ENCODING, newline='')


class _RawReader(io.RawIOBase):

  def __init__(self, source):
    super().__init__()
    self._source = source

  def readable(self) -> bool:
    return True

  def readinto(self, buffer) -> int:
    data = self._source.read(len(buffer))
    buffer[:len(data)] = data
    return len(data)


def clean(cell: str) -> str:
  """The value a cell holds: stripped, unquoted if a space kept the csv module from seeing
  its quotes (`a, "b c"`), and '' for a spelling of missing."""
  value = cell.strip()
  if len(value) >= 2 and value[0] == value[-1] == '"':
    value = value[1:-1].replace('""', '"')
  return '' if value.lower() in MISSING_SPELLINGS else value


def is_infinite(value: str) -> bool:
  """A cell that parses as a number too large for a float (inf, -Infinity, 1e999)."""
  try:
    return math.isinf(float(value))
  except ValueError:
    return False


def read(stream: IO[str]) -> Tuple[List[str], Iterator[Tuple[int, List[str], int]]]:
  """The header's column names (stripped; [] for an empty file) and an iterator of
  (line number, cleaned cells, cells that had whitespace around them) for each record after
  it, blank records skipped."""
  reader = csv.reader(stream)
  row = next(reader, None)
  return ([name.strip() for name in row] if row else []), _records(reader)


def _records(reader) -> Iterator[Tuple[int, List[str], int]]:
  for row in reader:
    if not row or not any(cell.strip() for cell in row):
      continue
    yield reader.line_num, [clean(cell) for cell in row], sum(
        1 for cell in row if cell != cell.strip())
