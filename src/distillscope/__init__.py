"""distillscope: measure how much a large language model was distilled from another one."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("distillscope")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
