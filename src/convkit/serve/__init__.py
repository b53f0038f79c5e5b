"""The HTTP face of convkit: a FastAPI app and its web page.

``create_app(model_path, index=None)`` returns the app; ``convkit serve``
runs it with uvicorn. FastAPI is imported inside ``create_app``, so this
package costs nothing to import when the server is not used.
"""

from convkit.serve.uploads import UploadLimits


def create_app(model, index=None, limits: UploadLimits | None = None, runtime: str = "auto"):
    """Build the FastAPI app serving one model (see ``convkit.serve.app``)."""
    from convkit.serve.app import create_app as build

    return build(model, index=index, limits=limits, runtime=runtime)


__all__ = ["UploadLimits", "create_app"]
