"""The retune policy's names, in a module that imports nothing: the Tuner's executor
(tuning.py) decides with them, and the application's config validates against them before
anything heavy is imported."""

ALWAYS = 'always'                    # search on every run (the default)
NEVER = 'never'                      # reuse the latest best values; the first run ever searches
IF_DATA_CHANGED = 'if-data-changed'  # reuse them while the training data is unchanged
POLICIES = (ALWAYS, NEVER, IF_DATA_CHANGED)
