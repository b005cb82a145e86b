"""The /faq pipeline: links in, a cited FAQ out (see `pipeline` for the flow, `fetch` for safety)."""

from .cache import CachedPage, MemoryPageCache, PageCache
from .fetch import FetchedPage, FetchError, PageFetcher
from .pipeline import MAX_URLS, FaqError, build_faq
from .progress import ProgressCallback, ProgressEvent
from .schemas import FailedPage, FaqItem, FaqResult, FaqSource

__all__ = [
    "MAX_URLS",
    "CachedPage",
    "FailedPage",
    "FaqError",
    "FaqItem",
    "FaqResult",
    "FaqSource",
    "FetchError",
    "FetchedPage",
    "MemoryPageCache",
    "PageCache",
    "PageFetcher",
    "ProgressCallback",
    "ProgressEvent",
    "build_faq",
]
