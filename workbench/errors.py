"""Exceptions raised on bad input: each message names the file, ticker, time or column at fault."""


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class DataValidationError(WorkbenchError, ValueError):
    """Input data breaks a rule of the bar schema (NaN price, high < low, duplicate key, ...)."""


class UnknownTickerError(WorkbenchError, KeyError):
    """A ticker was asked for that the dataset does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DatasetNotFoundError(WorkbenchError, FileNotFoundError):
    """No dataset folder (or a required table inside it) where one was expected."""


class LookAheadError(WorkbenchError, AssertionError):
    """A feature function used data from after a bar's time (the causality audit caught it)."""
