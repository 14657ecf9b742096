"""From a question to a cited answer: query analysis, report selection, retrieval, scoring and composers."""
