"""Which earlier model the Evaluator compares a new one against."""

from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy)
from tfx.types import standard_artifacts


class PreviousBlessedModelStrategy(LatestBlessedModelStrategy):
  """The latest blessed model other than the candidate.

  The resolver runs after the Trainer, so the newest Model artifact is the candidate being
  evaluated. Leaving it out means that a re-run with nothing changed (the Trainer's output
  reused from the cache) resolves the same baseline as before, so the Evaluator and Pusher are
  reused too, instead of comparing the model with itself and pushing it a second time.
  """

  def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                        ) -> Optional[Dict[str, List[types.Artifact]]]:
    input_dict = dict(input_dict)
    for key, artifacts in input_dict.items():
      if artifacts and isinstance(artifacts[0], standard_artifacts.Model):
        candidate_id = max(a.id for a in artifacts)
        input_dict[key] = [a for a in artifacts if a.id != candidate_id]
    return super().resolve_artifacts(store, input_dict)
