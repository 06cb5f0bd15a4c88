"""The news store: articles, chunks and sentence vectors on top of vectorstore/, written
all-or-nothing and read back as typed data."""

from rag.store.news import NewsStore
from rag.store.records import ArticleInfo

__all__ = ["ArticleInfo", "NewsStore"]
