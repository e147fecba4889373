"""The error a fit raises when maximum likelihood does not reach an interior maximum."""


class ConvergenceError(RuntimeError):
    """The maximum-likelihood fit did not converge (or ran to a parameter bound)."""
