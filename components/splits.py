"""Which split each CSV row goes to: by its position in its file, never by its content.

TFX's CsvExampleGen hashes each row's content, so identical rows all land in one split: a
1,316-row table with ~24 distinct rows split 1,232 / 80 / 4. Here row g (0-based, counting
non-blank records after the header) of a file with n rows goes to

    position = (stride * g + offset) mod n        (a permutation of 0..n-1)
    train if position < cut_1, eval if position < cut_2, else test

with cut_i = floor(n * cumulative share + phase), stride an integer near n * 0.618 that is coprime
with n, and offset and phase (in [0, 1)) hashes of (seed, file name). So each split gets its
share of every file's rows to within one row, whatever the rows contain; the same files and
seed always give the same splits; a file keeps its assignment when other files (spans) join
or leave the window; and because the stride is the golden ratio's, every stretch of a file (a
file sorted by label, say) spreads over the splits in proportion.

Plain Python: the pre-flight data check (which counts rows per split before anything runs)
and the ExampleGen executor use the same function.
"""

import hashlib
import math
from typing import Iterator, List, Sequence, Tuple

GOLDEN = (math.sqrt(5) - 1) / 2

# (split name, share): train fits, eval steers early stopping and the search objective, test
# is held out for the Evaluator.
DEFAULT_SPLITS: Tuple[Tuple[str, float], ...] = (('train', 0.70), ('eval', 0.15),
                                                 ('test', 0.15))


def _stride(n: int) -> int:
  stride = max(1, round(n * GOLDEN))
  while math.gcd(stride, n) != 1:
    stride += 1
  return stride


def _hashes(seed: int, file_name: str) -> Tuple[int, float]:
  """(offset source, phase in [0, 1)) for a file."""
  digest = hashlib.sha256(f'{seed}:{file_name}'.encode()).digest()
  return int.from_bytes(digest[:8], 'big'), int.from_bytes(digest[8:16], 'big') / 2.0**64


DEFAULT_SHARES = tuple(share for _, share in DEFAULT_SPLITS)


def cuts(n: int, shares: Sequence[float], phase: float = 0.5) -> List[int]:
  """Cumulative row counts at which each split ends (the last is n). The random phase makes
  the rounding unbiased: over many small files each split gets its share in expectation."""
  total = sum(shares)
  bounds, running = [], 0.0
  for share in shares:
    running += share
    bounds.append(min(n, math.floor(n * running / total + phase)))
  bounds[-1] = n
  return bounds


def assign(n: int, file_name: str, seed: int,
           shares: Sequence[float] = DEFAULT_SHARES) -> Iterator[int]:
  """The split index of each of a file's n rows, in row order."""
  if n <= 0:
    return
  offset, phase = _hashes(seed, file_name)
  stride, offset, bounds = _stride(n), offset % n, cuts(n, shares, phase)
  for g in range(n):
    position = (stride * g + offset) % n
    yield next(i for i, bound in enumerate(bounds) if position < bound)


def counts(n: int, file_name: str, seed: int,
           shares: Sequence[float] = DEFAULT_SHARES) -> List[int]:
  """Rows per split index for a file of n rows."""
  bounds = cuts(n, shares, _hashes(seed, file_name)[1])
  return [bound - (bounds[i - 1] if i else 0) for i, bound in enumerate(bounds)]
