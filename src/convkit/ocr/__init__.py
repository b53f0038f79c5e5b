"""Optical character recognition: read text lines with a CRNN trained by CTC.

The pieces, each in its own module:

- ``alphabet``   the symbols a reader knows; index 0 is the CTC blank.
- ``labels``     labels from file names (``abc12_3.png`` -> "abc12") or a CSV/TSV.
- ``dataset``    a folder or table of text-line images, checked before training.
- ``preprocess`` height normalised (aspect kept), width left free.
- ``batching``   batches padded to the widest line of each batch.
- ``decoding``   greedy and beam-search CTC decoding with a confidence.
- ``text_metrics`` character error rate, word error rate, exact-match rate.
- ``generator``  synthetic text lines drawn with OpenCV's Hershey fonts.
- ``inputs``     which image files `convkit ocr` reads (reading: ``convkit.inference.TextReader``).
- ``task``       OcrTask: CTC loss, CER/WER metrics, decoding, the data it reads.
- ``evaluation`` CER/WER/exact match and misread lines (`convkit evaluate`).

Single symbols (one digit, one letter) are plain classification: train an
``output`` network on class folders instead (MNIST is OCR of one digit).
Importing this package is cheap; torch and cv2 load inside the functions.
"""
