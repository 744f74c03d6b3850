import keras
import keras_tuner
import numpy as np
import pytest

from tfx_hypertune.model import features, network, space
from tfx_hypertune.pipeline import config as config_lib
from tfx_hypertune.pipeline.pipeline import user_function_config

SPACE = space.space_by_name(
    user_function_config(config_lib.build_config({}), 'test')['search']['space'])
INPUTS = features.ModelInputs(numeric_width=5, categorical=(('color_xf', 4),), num_classes=3,
                              labels=('bird', 'cat', 'dog'))


def _hp(**values):
  hp = keras_tuner.HyperParameters()
  for name, value in values.items():
    hp.Fixed(name, value)
  return hp


@pytest.mark.parametrize('widths', [[32], [64, 16], [512, 128, 48]])
def test_layers_match_hyperparameters(widths):
  hp = _hp(num_layers=len(widths), dropout=0.2, learning_rate=1e-3,
           **{f'units_{i}': w for i, w in enumerate(widths)})
  built = network.build_model(hp, INPUTS, SPACE)
  assert network.hidden_widths(built) == widths
  dropouts = [layer for layer in built.layers if isinstance(layer, keras.layers.Dropout)]
  assert len(dropouts) == len(widths)
  assert built.output_shape == (None, 3)
  assert float(built.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
  # The input is the numeric vector plus the one-hot of 4 color ids.
  first = built.get_layer('hidden_0')
  assert first.kernel.shape == (5 + 4, widths[0])


def test_zero_layers_is_a_linear_model_on_the_features():
  linear_space = {**SPACE, 'num_layers': {'kind': 'int', 'min': 0, 'max': 3}}
  built = network.build_model(_hp(num_layers=0, dropout=0.2, learning_rate=1e-2), INPUTS,
                              linear_space)
  assert network.hidden_widths(built) == []
  assert built.count_params() == (5 + 4) * 3 + 3  # softmax regression: weights and biases
  config = config_lib.build_config({'search': {'space': {'num_layers': {'min': 0}}}})
  assert next(s for s in config.search.space if s.name == 'num_layers').min == 0


def _evaluated(inputs, labels):
  hp = _hp(num_layers=1, units_0=16, dropout=0.0, learning_rate=1e-2)
  batch = {features.NUMERIC_KEY: np.zeros((len(labels), 5), 'float32')}
  if inputs.categorical:
    batch['color_xf'] = np.zeros((len(labels), 1), 'int64')
  return network.build_model(hp, inputs, SPACE).evaluate(
      batch, np.array(labels), verbose=0, return_dict=True)


def test_a_classifier_reports_balanced_accuracy_and_for_two_classes_auc():
  assert set(_evaluated(INPUTS, [0, 1, 2])) == {'loss', 'accuracy', 'balanced_accuracy'}
  two = features.ModelInputs(numeric_width=5, categorical=(), num_classes=2, labels=('n', 'y'))
  results = _evaluated(two, [0, 0, 0, 1])
  assert set(results) == {'loss', 'accuracy', 'balanced_accuracy', 'auc'}
  # Zero features: every row gets the same probabilities, the same class: 1/2 balanced.
  assert results['balanced_accuracy'] == pytest.approx(0.5)


def test_no_dropout_layer_when_dropout_is_zero():
  built = network.build_model(_hp(num_layers=1, units_0=16, dropout=0.0, learning_rate=1e-2),
                            INPUTS, SPACE)
  assert not [layer for layer in built.layers if isinstance(layer, keras.layers.Dropout)]


def test_model_predicts_probabilities():
  built = network.build_model(_hp(num_layers=1, units_0=16, dropout=0.0, learning_rate=1e-2),
                            INPUTS, SPACE)
  batch = {features.NUMERIC_KEY: np.zeros((2, 5), 'float32'),
           'color_xf': np.array([[0], [3]], 'int64')}
  probabilities = built.predict(batch, verbose=0)
  assert probabilities.shape == (2, 3)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_declare_kinds():
  hp = keras_tuner.HyperParameters()
  assert space.declare(hp, 'a', {'kind': 'fixed', 'value': 3}) == 3
  assert space.declare(hp, 'b', {'kind': 'choice', 'values': [0.1, 0.2]}) == 0.1
  assert space.declare(hp, 'c', {'kind': 'int', 'min': 16, 'max': 64, 'step': 16}) == 16
  assert space.declare(hp, 'd', {'kind': 'float', 'min': 0.5, 'max': 0.9}) == 0.5
  with pytest.raises(ValueError, match="unknown hyperparameter kind 'x'"):
    space.declare(hp, 'e', {'kind': 'x'})


@pytest.mark.parametrize('rows, batch', [(100, 8), (125, 8), (399, 10), (1257, 31),
                                         (180_000, 32)])
def test_auto_batch_size_gives_small_tables_enough_steps(rows, batch):
  from tfx_hypertune.model import datasets
  assert datasets.auto_batch_size(rows) == batch


@pytest.mark.parametrize('raw, expected', [
    ('color', 'color'), ('Sepal_length2', 'Sepal_length2'),
    ('size/cm', 'size_cm_'), ('wt [kg]', 'wt_kg_'), ('rate %', 'rate_'), ('1st', 'c_1st_'),
    ('Café', 'Caf_'), ('颜色', 'c_'), ('🐾 tag', 'tag_'), ('column_1', 'column_1')])
def test_every_column_name_becomes_one_safe_identifier(raw, expected):
  """The one place a CSV header becomes an identifier (Keras layer names, TensorFlow scope
  names): ASCII letters, digits and _, starting with a letter, and distinct for distinct
  names (a hash of the raw name unless it was safe already)."""
  import re
  safe = features.safe_name(raw)
  assert re.fullmatch(r'[A-Za-z][A-Za-z0-9_]*', safe)
  assert safe == expected if raw == expected else safe.startswith(expected)
  assert features.safe_name('size_cm') != features.safe_name('size/cm') != features.safe_name(
      'size cm')
  assert features.transformed_name(raw) == safe + '_xf'


def test_labels_no_training_row_has_are_refused_in_one_line():
  import tensorflow as tf
  from tfx_hypertune.model import datasets
  rows = tf.data.Dataset.from_tensor_slices(({'x': [[1.0], [2.0], [3.0]]}, [[0], [-1], [-1]]))
  with pytest.raises(ValueError, match=r'^eval split: 2 row\(s\) have a label that no '
                                       r'training row has'):
    datasets.check_labels_known(rows, 'eval')
  datasets.check_labels_known(rows.take(1), 'eval')  # every label known: nothing to say
