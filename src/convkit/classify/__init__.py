"""Classification: name what is in an image, or in a recording's spectrogram.

- ``task``          ClassifyTask: cross-entropy loss, accuracy/top-5, decoding to labels,
                    and the data it reads (image folders, IDX, CSV, or recordings through
                    ``convkit.audio``).
- ``class_metrics`` per-class precision, recall and F1 from a confusion matrix, and the
                    terminal table `convkit evaluate` prints.

Importing this package is cheap; torch loads inside the functions.
"""
