"""The public surface is exactly what ``__all__`` lists, and every name resolves."""

from __future__ import annotations

import synergy


def test_all_names_resolve() -> None:
    for name in synergy.__all__:
        assert hasattr(synergy, name), name


def test_all_is_sorted_and_unique() -> None:
    assert len(set(synergy.__all__)) == len(synergy.__all__)
    assert list(synergy.__all__) == sorted(synergy.__all__)


def test_errors_share_one_base() -> None:
    for name in synergy.__all__:
        obj = getattr(synergy, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, synergy.SynergyError), name


def test_warnings_share_one_base() -> None:
    from synergy.errors import SynergyWarning

    warnings = [getattr(synergy, n) for n in synergy.__all__ if isinstance(getattr(synergy, n), type)]
    warnings = [w for w in warnings if issubclass(w, Warning)]
    assert synergy.DomainWarning in warnings
    assert all(issubclass(w, SynergyWarning) for w in warnings)


def test_lazy_names_resolve_without_heavy_imports_at_import_time() -> None:
    import subprocess
    import sys

    code = "import sys, synergy; print('torch' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    assert callable(synergy.measure)
    assert callable(synergy.fit_predictor)


def test_one_model_resolver_is_public_and_light() -> None:
    import subprocess
    import sys

    assert {"ResolvedModel", "UntrustedCodeError", "resolve_model"} <= set(synergy.__all__)
    assert issubclass(synergy.UntrustedCodeError, synergy.ModelSpecError)
    resolve = "synergy.resolve_model('torchvision:resnet18').fingerprint"
    code = f"import sys, synergy; {resolve}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
