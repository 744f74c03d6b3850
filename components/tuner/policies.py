"""The names of the Tuner's choices and their defaults, in a module that imports nothing: the
Tuner's component and executor decide with them, and an application's config validates
against them before anything heavy is imported."""

ALWAYS = 'always'                    # search on every run (the default)
NEVER = 'never'                      # reuse the latest best values; the first run ever searches
IF_DATA_CHANGED = 'if-data-changed'  # reuse them while the training data is unchanged
POLICIES = (ALWAYS, NEVER, IF_DATA_CHANGED)

# Where trials run: `local` (the executor's process, or local_pool.py's worker processes) or
# `beam` (one Beam pipeline per batch of trials, on the Tuner's Beam runner: beam_trials.py).
TRIALS_LOCAL, TRIALS_BEAM = 'local', 'beam'
TRIALS_ON = (TRIALS_LOCAL, TRIALS_BEAM)

# Warm start is on unless asked off (0): a search on new data of the same settings first tries
# the previous search's best configurations, within its own budget.
DEFAULT_WARM_START_TRIALS = 3

# The search algorithms the search API builds an oracle for (oracles.make_oracle), by name.
# hyperband_longest_first: Hyperband's brackets in the opposite order (full-length trials
# first).
# asha: asynchronous successive halving (asha.py), no round to wait for.
HYPERBAND_ALGORITHMS = ('hyperband', 'hyperband_longest_first')
ASHA = 'asha'
SUCCESSIVE_HALVING_ALGORITHMS = (*HYPERBAND_ALGORITHMS, ASHA)  # trials of several lengths
ALGORITHMS = (ASHA, *HYPERBAND_ALGORITHMS, 'random', 'bayesian', 'grid')

# Stopping weak trials while they train (early_stopping.py): none, or the median rule.
TRIAL_STOPPING_RULES = ('none', 'median')
DEFAULT_TRIAL_STOPPING = 'none'
