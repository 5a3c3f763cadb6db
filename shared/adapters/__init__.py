"""The outside world behind small classes that services receive as arguments.

Each adapter imports its SDK inside its methods or its factory, never at
module load, so importing an adapter costs nothing at cold start.
"""
