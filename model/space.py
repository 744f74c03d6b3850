"""The model's knobs and their default ranges: the one definition the config validates
against and `network.build_model` declares. Light on purpose (no TensorFlow), so the config
can be checked before anything heavy is imported."""

from typing import Any, Dict, List, Mapping, Sequence

# The hyperparameters `build_model` reads; `units` is the template for the per-layer
# `units_<i>` hyperparameters (each declared under the condition num_layers > i).
KNOBS = ('num_layers', 'units', 'dropout', 'learning_rate')

DEFAULT_SPACE: Dict[str, Dict[str, Any]] = {
    # The classic Keras Tuner example: one hidden layer of 16..512 units, three learning rates,
    # extended with depth and dropout.
    'num_layers': {'kind': 'int', 'min': 1, 'max': 3},
    'units': {'kind': 'int', 'min': 16, 'max': 512, 'step': 16},
    'dropout': {'kind': 'float', 'min': 0.0, 'max': 0.5, 'step': 0.1},
    'learning_rate': {'kind': 'choice', 'values': [1e-2, 1e-3, 1e-4]},
}

SpaceSpec = Mapping[str, Mapping[str, Any]]


def declare(hp, name: str, spec: Mapping[str, Any]):
  """Declares one hyperparameter on a keras_tuner.HyperParameters from its config spec and
  returns its current value."""
  kind = spec['kind']
  if kind == 'fixed':
    return hp.Fixed(name, spec['value'])
  if kind == 'choice':
    return hp.Choice(name, list(spec['values']))
  if kind == 'int':
    return hp.Int(name, int(spec['min']), int(spec['max']), step=int(spec.get('step') or 1),
                  sampling=spec.get('sampling', 'linear'))
  if kind == 'float':
    return hp.Float(name, float(spec['min']), float(spec['max']), step=spec.get('step'),
                    sampling=spec.get('sampling', 'linear'))
  raise ValueError(f'unknown hyperparameter kind {kind!r} for {name}')


def possible_values(spec: Mapping[str, Any]) -> List[Any]:
  """Every value an integer-valued hyperparameter of this spec can take (for conditions)."""
  if spec['kind'] == 'fixed':
    return [spec['value']]
  if spec['kind'] == 'choice':
    return list(spec['values'])
  return list(range(int(spec['min']), int(spec['max']) + 1, int(spec.get('step') or 1)))


def space_by_name(space: Sequence[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
  return {spec['name']: spec for spec in space}
