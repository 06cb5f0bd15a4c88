"""Storage that knows nothing about news: vector collections (Chroma) and a lexical index."""
