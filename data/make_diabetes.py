"""Regenerates data/diabetes/diabetes.csv (a regression example) and its curated schema from
the diabetes data scikit-learn ships (Efron et al., 2004: 442 patients, ten baseline measures,
and the label: disease progression one year later, a number from 25 to 346).

    .venv/bin/python data/make_diabetes.py
"""

import csv
import os

from sklearn.datasets import load_diabetes

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'diabetes')
INTEGER_COLUMNS = ('age', 'sex', 'progression')
LABEL = 'progression'


def main() -> None:
  data = load_diabetes(scaled=False)  # the measures in their own units, not z-scored
  columns = list(data.feature_names) + [LABEL]
  os.makedirs(FOLDER, exist_ok=True)
  with open(os.path.join(FOLDER, 'diabetes.csv'), 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    for measures, target in zip(data.data, data.target):
      writer.writerow([_cell(name, value) for name, value in zip(columns, [*measures, target])])
  with open(os.path.join(FOLDER, 'schema.pbtxt'), 'w') as f:
    f.write(schema(columns, data))
  print(f'wrote {len(data.target)} rows and a schema to {FOLDER}')


def _cell(name: str, value: float) -> str:
  # A decimal point in every FLOAT cell: ExampleGen infers INT for a column of whole numbers.
  return str(int(round(value))) if name in INTEGER_COLUMNS else repr(float(value))


def schema(columns, data) -> str:
  """Every column required, numeric, bounded by the data's own range (widened a little for
  the measures, so that a new patient slightly outside it is not an anomaly)."""
  lines = ['# Curated schema for data/diabetes (written by make_diabetes.py): every column',
           '# present, numeric and within a range; ExampleValidator checks every run against it.']
  values = {name: list(data.data[:, i]) for i, name in enumerate(data.feature_names)}
  values[LABEL] = list(data.target)
  for name in columns:
    low, high = min(values[name]), max(values[name])
    if name in INTEGER_COLUMNS:
      kind, domain = 'INT', f'int_domain {{ min: {int(low) // 2} max: {int(high) * 2} }}'
    else:
      margin = (high - low) / 2
      kind, domain = 'FLOAT', f'float_domain {{ min: {low - margin:g} max: {high + margin:g} }}'
    if name == 'sex':
      domain = 'int_domain { min: 1 max: 2 }'
    lines.append(f'feature {{ name: "{name}" type: {kind} {domain} '
                 f'presence {{ min_fraction: 1.0 min_count: 1 }} shape {{ dim {{ size: 1 }} }} }}')
  return '\n'.join(lines) + '\n'


if __name__ == '__main__':
  main()
