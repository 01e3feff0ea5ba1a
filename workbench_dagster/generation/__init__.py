"""The generation stage: synthetic images (the procedural painter or an image backend) and synthetic comments.

Every image is drawn from a prompt spec, so what it shows is known by construction. Used by assets/generation.py.
"""
