"""cs330: homework framework and autograder for multi-task, transfer and meta-learning."""

__version__ = "0.1.0"
