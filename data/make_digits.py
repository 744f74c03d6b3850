"""Regenerates data/digits/digits.csv from the copy of the UCI digits that scikit-learn ships.

    .venv/bin/python data/make_digits.py
"""

import csv
import os

from sklearn.datasets import load_digits

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'digits', 'digits.csv')


def main() -> None:
  digits = load_digits()
  columns = [f'pixel_{i // 8}_{i % 8}' for i in range(64)] + ['label']
  os.makedirs(os.path.dirname(OUT), exist_ok=True)
  with open(OUT, 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(columns)
    for pixels, label in zip(digits.data.astype(int), digits.target):
      writer.writerow(list(pixels) + [int(label)])
  print(f'wrote {len(digits.target)} rows to {OUT}')


if __name__ == '__main__':
  main()
