"""Progress output: the pure formatter, and what fit writes to a pipe."""

import subprocess
import sys
import textwrap

from cornu.reports import progbar


def test_format_bar_mid_epoch_and_end():
    mid = progbar.format_bar(150, 600, 1.5, {"loss": 0.31234, "accuracy": 0.9})
    assert mid.startswith("150/600 [======>.") and "ETA: 4.5s" in mid
    assert mid.endswith("loss: 0.3123 - accuracy: 0.9000")
    assert len(mid.split("[")[1].split("]")[0]) == 30
    end = progbar.format_bar(600, 600, 2.0, {})
    assert end == "600/600 [" + "=" * 30 + "] - 2.0s"


def test_format_epoch_end_and_values():
    line = progbar.format_epoch_end(600, 0.5, 60000, {"loss": 2e-5}, compile_seconds=0.5)
    assert line == ("600/600 - 500ms - 120,000 samples/s - incl. compile 500ms - "
                    "loss: 2.0000e-05")
    assert progbar.format_value(float("nan")) == "nan"
    assert progbar.format_seconds(3725) == "1h02m"


def test_fit_to_a_pipe_writes_one_plain_line_per_epoch(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import cornu
        from cornu.layers import Dense
        cornu.utils.set_random_seed(0)
        m = cornu.Sequential([Dense(2, input_shape=(3,), activation="softmax")])
        m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        x = np.random.rand(50, 3).astype("float32")
        y = np.eye(2, dtype="float32")[np.arange(50) % 2]
        m.fit(x, y, batch_size=8, epochs=3, verbose=1)
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, check=True)
    both = result.stdout + result.stderr
    assert "\r" not in both and "\x1b" not in both
    lines = result.stdout.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert len(lines) == 6 and all(line.startswith("7/7 - ") for line in lines[1::2])
