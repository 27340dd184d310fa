from __future__ import annotations

import os
import subprocess
import sys

import zhanye_sdk


def test_active_backend_is_the_one_this_run_asked_for() -> None:
    expected = os.environ.get("ZHANYE_SDK_EXPECT_BACKEND")
    if expected is None:
        expected = "numpy" if os.environ.get("ZHANYE_SDK_NATIVE") == "0" else "native"
    assert zhanye_sdk.native_backend() == expected


def test_environment_variable_switches_to_the_numpy_twin() -> None:
    code = "import zhanye_sdk; print(zhanye_sdk.native_backend(), zhanye_sdk.mix.__module__)"
    env = dict(os.environ, ZHANYE_SDK_NATIVE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["numpy", "zhanye_sdk.kernels.mix"]


def test_public_names_are_exported_and_documented() -> None:
    assert sorted(zhanye_sdk.__all__) == zhanye_sdk.__all__
    for name in zhanye_sdk.__all__:
        obj = getattr(zhanye_sdk, name)
        assert obj.__doc__, f"{name} has no docstring"
