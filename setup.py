# scrapyd-deploy builds eggs with `setup.py bdist_egg` and writes a setup.py
# of its own (wrong name, no package data) if there is none; all metadata
# is in pyproject.toml.
from setuptools import setup

setup()
