"""Rows split by position (components/splits.py): shares within one row per file whatever the
rows contain, the same splits for the same files and seed, and stretches of a file spread over
the splits."""

import collections

import pytest

from tfx_hypertune.components import splits


@pytest.mark.parametrize('n', [20, 97, 1316, 1797, 10_001])
def test_each_split_gets_its_share_within_one_row(n):
  assigned = collections.Counter(splits.assign(n, 'data.csv', seed=42))
  for index, (_, share) in enumerate(splits.DEFAULT_SPLITS):
    assert abs(assigned[index] - share * n) < 1 + 1e-9
  assert [assigned[i] for i in range(3)] == splits.counts(n, 'data.csv', 42)


def test_repeated_rows_do_not_matter():
  """The CSV's content never enters: 1,316 rows of 24 distinct values split 921/198/197, not
  (as with content hashing) 1,232/80/4."""
  assigned = collections.Counter(splits.assign(1316, 'survey.csv', seed=7))
  shares = [assigned[i] / 1316 for i in range(3)]
  assert shares == pytest.approx([0.70, 0.15, 0.15], abs=0.02)


def test_same_files_and_seed_same_splits_other_seed_other_splits():
  first = list(splits.assign(500, 'a.csv', seed=1))
  assert first == list(splits.assign(500, 'a.csv', seed=1))
  assert first != list(splits.assign(500, 'a.csv', seed=2))
  assert first != list(splits.assign(500, 'b.csv', seed=1))


def test_many_small_files_still_get_their_shares():
  assigned = collections.Counter()
  for k in range(400):
    assigned.update(splits.assign(3, f'part-{k}.csv', seed=3))
  assert [assigned[i] / 1200 for i in range(3)] == pytest.approx([0.70, 0.15, 0.15], abs=0.02)


def test_a_file_sorted_by_label_spreads_over_the_splits():
  """Every tenth of the file sends about 70% of its rows to train."""
  assigned = list(splits.assign(2000, 'sorted.csv', seed=5))
  for start in range(0, 2000, 200):
    assert assigned[start:start + 200].count(0) / 200 == pytest.approx(0.70, abs=0.05)


def test_tiny_files():
  assert list(splits.assign(0, 'x.csv', 1)) == []
  assert sorted(set(splits.assign(1, 'x.csv', 1))) in ([0], [1], [2])
