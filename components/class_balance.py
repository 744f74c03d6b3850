"""When a label counts as imbalanced: one rule for the run's warning (hypertune/data_check.py)
and the Evaluator's blessing rule (components/evaluator.py)."""

from typing import Any, Mapping, Tuple

# The most common class holds more than this share of the training rows: accuracy then rewards
# always predicting it (a 97/3 table scores 0.97 that way), so the run warns and the Evaluator
# blesses by balanced accuracy instead.
IMBALANCED_SHARE = 0.9


def majority(counts: Mapping[Any, int]) -> Tuple[Any, float]:
  """(the most common label, its share of the rows); (None, 0.0) for no rows."""
  total = sum(counts.values())
  if not total:
    return None, 0.0
  label, rows = max(counts.items(), key=lambda item: item[1])
  return label, rows / total


def is_imbalanced(counts: Mapping[Any, int]) -> bool:
  return majority(counts)[1] > IMBALANCED_SHARE
