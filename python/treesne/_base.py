"""scikit-learn's estimator conventions without scikit-learn: get_params, set_params and a repr, for
when sklearn is not installed (with sklearn, TSNE derives from sklearn.base.BaseEstimator)."""

import inspect


class BaseEstimator:
    @classmethod
    def _get_param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}")
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{k}={v!r}" for k, v in self.get_params().items() if defaults[k].default is not v and defaults[k].default != v
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def not_fitted(estimator):
    """scikit-learn's NotFittedError when it is installed (a ValueError and AttributeError either way)."""
    message = (
        f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with appropriate "
        "arguments before using this estimator."
    )
    try:
        from sklearn.exceptions import NotFittedError
    except ImportError:  # pragma: no cover
        class NotFittedError(ValueError, AttributeError):
            pass
    return NotFittedError(message)
