"""Layer 1, the model code: the functions TFX loads by dotted path (`model.transform.
preprocessing_fn`, `model.tuner_fn.tuner_fn`, `model.trainer.run_fn`) and what they share.

May import TensorFlow, Keras, Keras Tuner, tf.Transform and, of this project, only the search
API `components.tuner.search`. A change here changes `model` code version, which re-runs
Transform, the Tuner and the Trainer.
"""
