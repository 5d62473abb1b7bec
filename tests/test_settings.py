from cornu import _settings


def test_switches_read_one_spelling_and_fall_back_to_their_default(monkeypatch):
    for value, expected in (("1", True), ("Yes", True), (" on ", True), ("0", False),
                            ("FALSE", False), ("off", False), ("maybe", None), ("", None)):
        monkeypatch.setenv("CORNU_TEST_SWITCH", value)
        for default in (True, False):
            want = default if expected is None else expected
            assert _settings.switch("CORNU_TEST_SWITCH", default) is want, (value, default)
    monkeypatch.delenv("CORNU_TEST_SWITCH")
    assert _settings.switch("CORNU_TEST_SWITCH", True) is True
