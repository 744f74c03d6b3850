"""How a CSV file is read: one reader for the pre-flight data check and for ExampleGen, so the
two agree on every file (if the check passes, the pipeline reads the same columns and values).

- Python's csv module: quoting (a quoted header too), doubled quotes, fields with newlines,
  CRLF or LF line ends; a UTF-8 byte-order mark is dropped.
- Whitespace around a field is stripped (`label, a, "b"` reads as `label,a,b`); the data
  check counts the fields it changed and the run's summary says so.
- A cell that spells a missing value (MISSING_SPELLINGS, any case: NaN, NA, N/A, null) is
  missing, like an empty cell (Transform fills it in). Infinities are numbers that no
  model can use: the data check refuses them, naming the file, line and column.
- A column without a name (pandas writes its index so: `,a,b,label`) is called
  `column_<position>` (1-based), by everything that reads the file, `hypertune predict` too.

Which files of a folder are data is decided here too (`data_files`), for the data check,
ExampleGen and span folders alike: every `*.csv`, but not hidden files (a Mac's AppleDouble
`._data.csv`, `.~lock` files) nor `_`-prefixed ones (Spark's and Hadoop's bookkeeping). A file
of no bytes, or of a header and no rows (a part a Spark, Dask or `split` job left empty), is an
empty part: the data check counts it, ExampleGen reads nothing from it.
"""

import codecs
import csv
import io
import math
import posixpath
from typing import IO, Iterable, Iterator, List, Optional, Tuple

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
  """The header's column names (stripped, an unnamed one `column_<position>`; [] for an empty
  file) and an iterator of (line number, cleaned cells, cells that had whitespace around them)
  for each record after it, blank records skipped."""
  reader = csv.reader(stream)
  row = next(reader, None)
  return (column_names(row) if row else []), _records(reader)


UNNAMED_COLUMN = 'column_{position}'


def column_names(header: List[str]) -> List[str]:
  """A header line's cells as column names: stripped, an empty one named by its position."""
  names = [cell.strip() for cell in header]
  if not any(names):
    return []
  return [name or UNNAMED_COLUMN.format(position=i + 1) for i, name in enumerate(names)]


# ---------------------------------------------------------------------------------------------
# Which files are data.


def is_data_file(path: str) -> bool:
  """A `*.csv` file that is not hidden (`.`) nor bookkeeping (`_`)."""
  name = posixpath.basename(path.rstrip('/'))
  return name.lower().endswith('.csv') and not name.startswith(('.', '_'))


def data_files(paths: Iterable[str]) -> List[str]:
  """The data files among `paths` (a glob of `*.csv`), sorted."""
  return sorted(path for path in paths if is_data_file(path))


def first_bytes_blank(binary: IO[bytes], size: int = 4096) -> bool:
  """Whether a file holds nothing but white space (a part with no bytes at all, usually)."""
  return not binary.read(size).replace(codecs.BOM_UTF8, b'', 1).strip()


# ---------------------------------------------------------------------------------------------
# What a file that is not UTF-8 most likely is.


def undecodable_byte(binary: IO[bytes],
                     chunk: int = 1 << 20) -> Optional[Tuple[int, int, int, bytes]]:
  """(offset, line, the byte, the bytes around it) of the first byte that is not UTF-8, or
  None."""
  decoder = codecs.getincrementaldecoder('utf-8')()
  offset, line = 0, 1
  while True:
    data = binary.read(chunk)
    try:
      decoder.decode(data, final=not data)
    except UnicodeDecodeError as e:
      bad = offset + e.start
      before = data[:e.start]
      start = data.rfind(b'\n', 0, e.start) + 1
      return bad, line + before.count(b'\n'), data[e.start], data[start:e.start + 8]
    if not data:
      return None
    line += data.count(b'\n')
    offset += len(data)


def looks_like_latin1(binary: IO[bytes], size: int = 1 << 20) -> bool:
  """Text in a single-byte encoding (Latin-1, Windows-1252) rather than binary data: no NUL
  byte, and no control characters but tab and line ends."""
  data = binary.read(size)
  if b'\x00' in data:
    return False
  return not any(byte < 0x20 and byte not in b'\t\r\n' for byte in data)


def _records(reader) -> Iterator[Tuple[int, List[str], int]]:
  for row in reader:
    if not row or not any(cell.strip() for cell in row):
      continue
    yield reader.line_num, [clean(cell) for cell in row], sum(
        1 for cell in row if cell != cell.strip())
