"""The exception tree of SyNERGY.

Every error the library raises on purpose derives from :class:`SynergyError`, so a caller (the CLI
included) can catch one type. The command line maps each class to an exit code: bad input is 2,
a failed measurement or check is 1.

::

    SynergyError
    ├── UsageError                  bad input from the user (exit 2)
    │   ├── ModelSpecError          a MODEL spec that cannot be resolved or loaded
    │   ├── InputShapeError         a malformed or impossible --input-shape
    │   ├── DatasetError            training data that cannot be used
    │   ├── PredictorFormatError    a corrupt, invalid or future-version predictor file
    │   └── OutputExistsError       an output path that exists (use --force)
    ├── GraphError                  a network that cannot be analysed
    │   └── UnsupportedOpError      an op with no counting formula (raised only on request)
    ├── SensorError                 a power sensor failed
    │   ├── SensorUnavailable       the requested sensor is not on this machine
    │   ├── SensorPermissionError   the sensor exists but cannot be read by this user
    │   └── SensorReadError         a value could not be read or parsed
    │       └── ChannelReadError    a context channel value (frequency, temperature, load) is a gap
    ├── SamplingError               the background sampler failed
    ├── AlignmentError              markers and samples cannot be aligned
    ├── MeasurementError            a measurement failed or did not meet its checks (exit 1)
    │   └── MeasurementCheckError   --strict: the conditions' checks found problems (results written)
    └── NotFittedError              a predictor used before ``fit`` (also ValueError, AttributeError)

Warnings derive from :class:`SynergyWarning` (a ``UserWarning``)::

    SynergyWarning
    ├── UnsupportedOpWarning        ops met without a counting formula (their work is not counted)
    └── DomainWarning               a prediction outside the predictor's training domain
"""

from __future__ import annotations

__all__ = [
    "AlignmentError",
    "ChannelReadError",
    "DatasetError",
    "DomainWarning",
    "FleetError",
    "GraphError",
    "IncomparableRunsError",
    "InputShapeError",
    "MeasurementCheckError",
    "MeasurementError",
    "ModelSpecError",
    "NoEnergyError",
    "NotFittedError",
    "OutputExistsError",
    "OutputWriteError",
    "PredictorFormatError",
    "ResultFormatError",
    "SamplingError",
    "SensorError",
    "SensorPermissionError",
    "SensorReadError",
    "SensorUnavailable",
    "SynergyError",
    "SynergyWarning",
    "UnsupportedOpError",
    "UnsupportedOpWarning",
    "UsageError",
]


class SynergyError(Exception):
    """Base class of every error raised by SyNERGY on purpose.

    Messages are one line: what failed, and what to do about it.
    """

    exit_code: int = 1


class UsageError(SynergyError):
    """Bad input from the user: a path, a spec, an option value, a data file."""

    exit_code = 2


class ModelSpecError(UsageError):
    """A MODEL spec that cannot be resolved, imported or loaded."""


class InputShapeError(UsageError):
    """An ``--input-shape`` that is malformed or that the model cannot accept."""


class DatasetError(UsageError):
    """Training or evaluation data that cannot be used (empty, missing columns, bad values)."""


class PredictorFormatError(UsageError):
    """A predictor file that is corrupt, invalid, or written by a newer format version."""


class OutputExistsError(UsageError):
    """An output path exists and ``force`` was not given."""


class GraphError(SynergyError):
    """A network whose graph cannot be analysed."""

    exit_code = 2


class UnsupportedOpError(GraphError):
    """An operator without a counting formula, raised only when the caller asks for strictness."""


class SensorError(SynergyError):
    """A power sensor could not be used."""

    exit_code = 2


class SensorUnavailable(SensorError):
    """The requested sensor does not exist on this machine (or under the given root)."""


class SensorPermissionError(SensorError):
    """The sensor exists but this user may not read it."""


class SensorReadError(SensorError):
    """A sensor value could not be read or parsed."""


class ChannelReadError(SensorReadError):
    """A context channel (frequency, temperature, utilisation, clocks) gave no usable value: a gap.

    Raised for unreadable files and garbage values alike; samplers record a gap and go on.
    """


class SamplingError(SynergyError):
    """The background sampler failed to start, run or stop."""


class AlignmentError(SynergyError):
    """Layer markers and sensor samples cannot be put on one clock."""


class MeasurementError(SynergyError):
    """A measurement failed, or its checks failed under ``--strict``."""

    exit_code = 1


class MeasurementCheckError(MeasurementError):
    """Under ``--strict``, the checks of the measurement conditions found problems; the results were written.

    Attributes:
        result: what the measurement produced (a :class:`synergy.measurement.MeasureResult`), so a caller can
            still show it.
    """

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


class NotFittedError(SynergyError, ValueError, AttributeError):
    """A predictor was used before it was fitted."""

    exit_code = 2


class SynergyWarning(UserWarning):
    """A result that holds but deserves attention (an op counted as unknown, a shape left dynamic...)."""


class UnsupportedOpWarning(SynergyWarning):
    """Ops without a counting formula were met: their work is missing from the counts, not zero."""


class UntrustedCodeError(ModelSpecError):
    """A MODEL spec read from a data file (a CSV, ``run.json``, a zoo or study file) would import and run
    Python code, and the caller did not say that code from data files is trusted."""


__all__ += ["UntrustedCodeError"]


class UndeterminedError(AlignmentError):
    """The sensor's readings cannot determine the layers' powers; the message names the remedy.

    Attributes:
        attribution: what the readings do determine, when there were enough to solve (every layer NaN with
            its reason, the idle power, the whole-inference energy read directly from the sensor), or
            ``None``.
    """

    def __init__(self, message: str, attribution: object = None) -> None:
        super().__init__(message)
        self.attribution = attribution


__all__ += ["UndeterminedError"]


class ResultFormatError(UsageError):
    """A result file (``run.json``, ``layers.csv``) that is unreadable, not SyNERGY's, or of a newer format."""


class IncomparableRunsError(DatasetError):
    """Runs that cannot be merged: their sensor, runtime or machine differ."""


class OutputWriteError(UsageError):
    """The output could not be written (a full disk, a read-only or missing folder); what was on disk is kept."""


class NoEnergyError(DatasetError):
    """An energy target asked of runs that measured no energy (no sensor, or an attribution that failed)."""


class FleetError(SynergyError):
    """A fleet campaign cannot go on: the broker is unreachable, or a board's result is unusable."""

    exit_code = 1


class DomainWarning(SynergyWarning):
    """A prediction for a network outside the predictor's training domain (op types never seen, features
    beyond the training range): the number is an extrapolation."""
