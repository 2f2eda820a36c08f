"""The ``loopml`` command (Typer + Rich): one small module per command group.

``main.app`` is the Typer application and ``main.run`` the console-script entry point. Modules
here import the stores and heavy libraries inside the command functions, so ``loopml --help``
stays fast.
"""
