"""The search API: what a tuner_fn (ours in model/, or anyone's) may build its search with, in
one module. It knows no model and no config layout: the tuner_fn passes its settings.

    make_oracle(algorithm, objective, ...)   an oracle by name (ALGORITHMS), with what the
                                             Tuner adds to any oracle (warm start, the clock,
                                             runs again, state written whole)
    make_tuner(oracle, hypermodel, dir)      a SearchTuner: any of them, Hyperband's rounds
                                             resuming their parents' checkpoints
    trials_in_plan(algorithm, ...)           how many trials a search will run
    hyperband_plan(max_epochs, factor, ...)  Hyperband's brackets and rounds
    active_values(hyperparameters)           values without Keras Tuner's bookkeeping
    training_epochs(config), best_epochs     what a Trainer trains for, from the Tuner's output

A tuner_fn needs none of it: the Tuner instruments whatever Keras Tuner tuner it returns.
"""

from tfx_hypertune.components.tuner.hyperparameters import (active_values,
                                                            active_values_of_config)
from tfx_hypertune.components.tuner.oracles import (
    BayesianOptimizationOracle, GridSearchOracle, HyperbandOracle, LongestFirstHyperbandOracle,
    RandomSearchOracle, SearchTuner, make_oracle, make_tuner)
from tfx_hypertune.components.tuner.brackets import HyperbandRound, hyperband_plan
from tfx_hypertune.components.tuner.plan import (BUDGET_KEYS, best_epochs, trials_in_plan,
                                                 training_epochs)
from tfx_hypertune.components.tuner.asha import ASHA, ASHAOracle
from tfx_hypertune.components.tuner.policies import (ALGORITHMS, HYPERBAND_ALGORITHMS,
                                                     SUCCESSIVE_HALVING_ALGORITHMS)

__all__ = [
    'ALGORITHMS',
    'ASHA',
    'ASHAOracle',
    'BUDGET_KEYS',
    'BayesianOptimizationOracle',
    'GridSearchOracle',
    'HYPERBAND_ALGORITHMS',
    'HyperbandOracle',
    'HyperbandRound',
    'LongestFirstHyperbandOracle',
    'RandomSearchOracle',
    'SUCCESSIVE_HALVING_ALGORITHMS',
    'SearchTuner',
    'active_values',
    'active_values_of_config',
    'best_epochs',
    'hyperband_plan',
    'make_oracle',
    'make_tuner',
    'training_epochs',
    'trials_in_plan',
]
