"""The error type CLI commands raise to print one clean line and exit non-zero (no traceback)."""


class CLIError(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
