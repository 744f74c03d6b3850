"""`tf.keras` is Keras 3 in the processes that run trials, as Keras Tuner needs.

TensorFlow 2.16 resolves `tf.keras` on first use, from TF_USE_LEGACY_KERAS, and importing
tensorflow_transform sets that variable to 1 and uses tf.keras at once. A process that imports
tf.Transform before anything touched tf.keras (the warm pool's fork server, which preloads it)
therefore gets Keras 2 (tf_keras) as tf.keras, and a tuner_fn written with
`from tensorflow import keras` (TFX's own Tuner test module, the penguin example) builds models
that Keras Tuner on Keras 3 refuses ("Expected ... a valid Keras Model instance"). Importing
this module first resolves tf.keras as Keras 3; the variable is left as it was.
"""

import os


def resolve_tf_keras_as_keras_3() -> None:
  import tensorflow as tf
  saved = os.environ.pop('TF_USE_LEGACY_KERAS', None)
  try:
    tf.keras.Model  # noqa: B018  # first use resolves it
  finally:
    if saved is not None:
      os.environ['TF_USE_LEGACY_KERAS'] = saved


resolve_tf_keras_as_keras_3()
