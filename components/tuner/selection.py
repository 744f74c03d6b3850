"""Which completed trial the Trainer gets: the best one, or, by choice, a cheaper one that is
nearly as good (the `select` and `select_tolerance` parameters).

    best              the trial with the best objective (Keras Tuner's choice; the default)
    smallest_within   of the trials whose objective is within `select_tolerance` of the best
                      (absolute, in the objective's units), the one with the fewest trainable
                      parameters
    fastest_within    ... the one with the fewest seconds per epoch

Trials compare at their final epoch count: a Hyperband trial that trained fewer epochs than
the search's most (`tuner/epochs` below `max_epochs`) is never chosen for being small or fast,
since it was not trained to the length the Trainer will train. Sizes and epoch times are what
the tuner mixin measured on the built model (trial_stats.json), for any tuner_fn; a trial
without them is not a candidate. Plain functions on plain values, so they are tested alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

BEST = 'best'
SMALLEST_WITHIN = 'smallest_within'
FASTEST_WITHIN = 'fastest_within'
RULES = (BEST, SMALLEST_WITHIN, FASTEST_WITHIN)
# The trial_stats value each rule minimises, and how it is named in the reason.
COST_OF = {SMALLEST_WITHIN: ('trainable_parameters', 'fewer parameters'),
           FASTEST_WITHIN: ('seconds_per_epoch', 'less time per epoch')}


@dataclasses.dataclass(frozen=True)
class Candidate:
  trial_id: str
  score: float
  final_length: bool  # trained to the search's most epochs (always, outside Hyperband)
  trainable_parameters: Optional[int] = None
  seconds_per_epoch: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class Choice:
  trial_id: str
  best_trial_id: str
  rule: str
  reason: str

  def record(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)


def check(rule: Optional[str], tolerance: Optional[float]) -> None:
  """Raises ValueError naming the parameter for a rule or tolerance that cannot work."""
  if (rule or BEST) not in RULES:
    raise ValueError(f'select={rule!r}: choose one of {", ".join(RULES)}')
  if tolerance is not None and float(tolerance) < 0:
    raise ValueError(f'select_tolerance={tolerance}: must be 0 or more (the objective\'s units)')


def choose(candidates: List[Candidate], direction: str, rule: Optional[str] = BEST,
           tolerance: float = 0.0) -> Choice:
  """The trial to train. `candidates`: the completed trials, best first (as
  spec.best_first orders them); `direction`: the objective's ('max' or 'min')."""
  check(rule, tolerance)
  rule = rule or BEST
  best = candidates[0]
  if rule == BEST:
    return Choice(best.trial_id, best.trial_id, BEST, f'trial {best.trial_id}: the best objective')
  column, saving = COST_OF[rule]
  sign = 1 if direction == 'max' else -1
  within = [c for c in candidates if c.final_length and getattr(c, column) is not None
            and sign * (best.score - c.score) <= float(tolerance) + 1e-12]
  if not within:
    return Choice(best.trial_id, best.trial_id, rule,
                  f'trial {best.trial_id}: the best objective (no trial trained to the final '
                  f'epoch count with a known {column} is within {tolerance:g} of it)')
  # Cheapest first; of equal cost, the better score, then the earlier trial (the input order).
  chosen = min(within, key=lambda c: getattr(c, column))
  if chosen.trial_id == best.trial_id or getattr(best, column) is None:
    cost = ''
  else:
    ratio = getattr(best, column) / max(getattr(chosen, column), 1e-12)
    cost = f': {ratio:.1f}x {saving}'
  gap = abs(best.score - chosen.score)
  return Choice(chosen.trial_id, best.trial_id, rule,
                f'trial {chosen.trial_id}{cost}, {gap:.4g} below the best trial '
                f'{best.trial_id} ({rule} {tolerance:g})' if chosen.trial_id != best.trial_id
                else f'trial {chosen.trial_id}: the best trial is also the cheapest within '
                     f'{tolerance:g} ({rule})')
