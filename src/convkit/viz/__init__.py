"""Pictures of what a network sees: feature maps, filters, Grad-CAM, run reports.

Each module does one job and imports its heavy libraries (torch, cv2,
matplotlib) inside the functions that use them, so ``import convkit.viz``
stays instant:

- ``model_view``  a loaded model plus the helpers every picture needs
  (input preparation, layer lookup, labels).
- ``grids``       arrays -> PNG grids of activation maps / filters.
- ``featuremaps`` activation maps per conv/pool layer, PNG + HTML.
- ``filters``     learned convolution kernels as images.
- ``gradcam``     class activation heat maps overlaid on the input.
- ``report``      one self-contained HTML page for a training run.
- ``run_review``  re-classify a run's validation split (per-class metrics, worst examples).
- ``html``        helpers for pages that carry their images inside themselves.
- ``plots``       training curves, confusion matrix, sample batches (run folder).
"""
