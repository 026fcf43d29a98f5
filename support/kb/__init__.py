"""The knowledge base: markdown articles, their search index, feedback and deflections."""
