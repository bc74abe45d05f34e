"""The ground floor: errors, versions, logging and progress, atomic writes, executors.

Every other part of atomgenbench may import this; it imports nothing of atomgenbench.
"""
