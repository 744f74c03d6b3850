"""Our Tuner component: the stock TFX Tuner's interface (tuner_fn, best_hyperparameters,
tuner_results), with an executor that fixes what the stock one gets wrong."""
