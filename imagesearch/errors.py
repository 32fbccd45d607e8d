"""The one error class a stage turns into a message instead of a traceback.

An :class:`InputError` means the user's data or params are wrong, not the code: its message
names the file, the line (where there is one) and the problem. :func:`imagesearch.stage.run`
prints it as one line and exits 1; any other exception is a bug and keeps its traceback.
"""


class InputError(ValueError):
    """Bad input data or params; the message names the file, the line and the problem."""
