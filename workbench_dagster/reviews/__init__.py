"""The human-in-the-loop stage: which images people should review, the reviews they send back, and retraining on them.

Review files are parsed strictly: a bad file gets a report naming the row and field. Used by assets/reviews.py.
"""
