"""The text stage: preprocessing of captions and comments, the corpus texts of a partition, and their embeddings.

Offline by design: emoji, simplemma, lingua and the packaged MiniLM. Used by assets/text.py.
"""
