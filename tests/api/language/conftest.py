"""The fixture runner asserts in ``support.py``: let pytest show the values when it does."""

import pytest

pytest.register_assert_rewrite("tests.api.language.support")
