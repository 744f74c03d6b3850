"""The model: build_model(hp) shared by the Tuner and the Trainer, and its serving signatures.

`build_model` declares the search space as it builds (the Keras Tuner way), so the Tuner
explores exactly the space the Trainer later rebuilds from the best hyperparameters.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List

import keras
import keras_tuner
import tensorflow as tf

from tfx_hypertune.model import features
from tfx_hypertune.model import metrics as class_metrics
from tfx_hypertune.model.space import SpaceSpec, declare, possible_values


def build_model(hp: keras_tuner.HyperParameters, inputs: features.ModelInputs,
                space: SpaceSpec) -> keras.Model:
  """Dense network: num_layers x (Dense(units_i, relu) + Dropout) -> softmax over the classes,
  or for regression one linear unit (the standardised label; mean squared error).

  `units_i` is declared under Keras Tuner's conditional scope `num_layers > i`, so a trial's
  values hold the widths of the layers it has and no others."""
  feature_inputs = _feature_inputs(inputs)
  x = _encoded(feature_inputs, inputs)
  layer_counts = possible_values(space['num_layers'])
  num_layers = declare(hp, 'num_layers', space['num_layers'])
  dropout = declare(hp, 'dropout', space['dropout'])
  for i in range(max(layer_counts)):
    with hp.conditional_scope('num_layers', [n for n in layer_counts if n > i]):
      units = declare(hp, f'units_{i}', space['units'])
    if i >= num_layers:
      continue
    x = keras.layers.Dense(units, activation='relu', name=f'hidden_{i}')(x)
    if dropout > 0:
      x = keras.layers.Dropout(dropout, name=f'dropout_{i}')(x)
  learning_rate = declare(hp, 'learning_rate', space['learning_rate'])
  if inputs.is_regression:
    outputs = keras.layers.Dense(1, name='standardized_value')(x)
    loss, metrics = 'mean_squared_error', ['mean_absolute_error']
  else:
    outputs = keras.layers.Dense(inputs.num_classes, activation='softmax',
                                 name='probabilities')(x)
    loss = 'sparse_categorical_crossentropy'
    metrics = class_metrics.classification_metrics(inputs.num_classes)
  model = keras.Model(feature_inputs, outputs)
  model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
  return model


def _feature_inputs(inputs: features.ModelInputs) -> Dict[str, keras.KerasTensor]:
  layers = {}
  if inputs.numeric_width:
    layers[features.NUMERIC_KEY] = keras.Input(
        shape=(inputs.numeric_width,), name=features.NUMERIC_KEY, dtype='float32')
  for name, _ in inputs.categorical:
    layers[name] = keras.Input(shape=(1,), name=name, dtype='int64')
  return layers


def _encoded(feature_inputs: Dict[str, keras.KerasTensor],
             inputs: features.ModelInputs) -> keras.KerasTensor:
  parts: List[keras.KerasTensor] = (
      [feature_inputs[features.NUMERIC_KEY]] if inputs.numeric_width else [])
  for name, size in inputs.categorical:
    parts.append(keras.layers.CategoryEncoding(size, output_mode='one_hot',
                                               name=f'one_hot_{name}')(feature_inputs[name]))
  return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name='features')(parts)


def hidden_widths(model: keras.Model) -> List[int]:
  """The units of each hidden layer, in order: how a test reads the tuned width back."""
  return [layer.units for layer in model.layers if layer.name.startswith('hidden_')]


# ---------------------------------------------------------------------------------------------
# Export: serving takes serialized raw tf.Examples; the transform graph is inside the model.


def export_serving_model(model: keras.Model, tf_transform_output, label: str,
                         inputs: features.ModelInputs, export_dir: str) -> None:
  """SavedModel with `serving_default` (raw examples -> probabilities and label, or the
  predicted value in the label's units) and `transform_features` (raw examples with label ->
  transformed features, used by TFMA)."""
  model.tft_layer = tf_transform_output.transform_features_layer()
  model.label_strings = tf.constant(list(inputs.labels) or [''])
  serving_spec = features.raw_serving_spec(tf_transform_output, label)
  raw_spec = tf_transform_output.raw_feature_spec()

  def model_features(transformed):
    return {k: v for k, v in transformed.items()
            if k != features.LABEL_KEY and k not in features.LABEL_SCALE_KEYS}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def serve(serialized):
    transformed = model.tft_layer(tf.io.parse_example(serialized, serving_spec))
    outputs = model(model_features(transformed))
    if inputs.is_regression:
      return {'predicted_value': tf.reshape(outputs, [-1]) * inputs.label_std + inputs.label_mean}
    class_id = tf.argmax(outputs, axis=1)
    return {
        'probabilities': outputs,
        'class_id': class_id,
        'label': tf.gather(model.label_strings, class_id),
        'probability': tf.reduce_max(outputs, axis=1),
    }

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name='examples')])
  def transform_features(serialized):
    transformed = model.tft_layer(tf.io.parse_example(serialized, raw_spec))
    if inputs.is_regression:  # TFMA compares predictions with the label in its own units
      transformed[features.LABEL_VALUE_KEY] = tf.reshape(
          transformed[features.LABEL_KEY] * transformed[features.LABEL_STD_KEY]
          + transformed[features.LABEL_MEAN_KEY], [-1])
    return transformed

  tf.saved_model.save(model, export_dir, signatures={
      'serving_default': serve,
      'transform_features': transform_features,
  })
  write_request_spec(export_dir, serving_spec, label)


REQUEST_SPEC_FILE = os.path.join('assets.extra', 'request_spec.json')


def write_request_spec(export_dir: str, serving_spec, label: str) -> None:
  """Records which raw columns a request carries and their types, so a client (our
  `hypertune predict`) can build tf.Examples from CSV rows without the schema."""
  kinds = {tf.int64: 'int', tf.float32: 'float', tf.string: 'bytes'}
  spec = {'label': label,
          'features': {name: kinds[feature.dtype] for name, feature in serving_spec.items()}}
  path = os.path.join(export_dir, REQUEST_SPEC_FILE)
  tf.io.gfile.makedirs(os.path.dirname(path))
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(json.dumps(spec, indent=2, sort_keys=True))
