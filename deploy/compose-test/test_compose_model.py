"""Compose interpolation as compose-go does it, on a table of cases (check.sh runs these)."""

import tempfile
import unittest
from pathlib import Path

from compose_model import ComposeError, interpolate, load, read_env_file

VARIABLES = {"SET": "value", "EMPTY": "", "PORT": "8002"}


class InterpolationTest(unittest.TestCase):
    def test_operators(self):
        cases = [
            ("${SET}", "value"),
            ("$SET/x", "value/x"),
            ("${UNSET}", ""),
            ("${UNSET:-fallback}", "fallback"),
            ("${EMPTY:-fallback}", "fallback"),
            ("${EMPTY-fallback}", ""),
            ("${UNSET-fallback}", "fallback"),
            ("${SET:+other}", "other"),
            ("${EMPTY:+other}", ""),
            ("${EMPTY+other}", "other"),
            ("${UNSET+other}", ""),
            ("$${SET}", "${SET}"),
            ("a$$b", "a$b"),
            ("${UNSET:-${SET}}", "value"),
            ("${UNSET:-x${UNSET2:-${PORT}}y}", "x8002y"),
            ("postgres://u:${SET:?need it}@db", "postgres://u:value@db"),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(interpolate(text, VARIABLES, "test"), expected)

    def test_required_variables_fail_like_compose(self):
        for text in ("${UNSET:?set it}", "${EMPTY:?set it}", "${UNSET?set it}"):
            with self.subTest(text=text), self.assertRaisesRegex(ComposeError, "set it"):
                interpolate(text, VARIABLES, "test")
        self.assertEqual(interpolate("${EMPTY?set it}", VARIABLES, "test"), "")

    def test_malformed_interpolation_is_an_error(self):
        for text in ("${", "${}", "${1A}", "$-", "${SET:x}"):
            with self.subTest(text=text), self.assertRaises(ComposeError):
                interpolate(text, VARIABLES, "test")


class FilesTest(unittest.TestCase):
    def write(self, name, text):
        path = Path(self.directory.name) / name
        path.write_text(text)
        return path

    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.directory.cleanup()

    def test_env_file_grammar(self):
        env = self.write(".env", "# comment\n\nA=1\nexport B=two words  # note\nC='quoted # kept'\nD=\"dq\"\nE=\n")
        self.assertEqual(read_env_file(env), {"A": "1", "B": "two words", "C": "quoted # kept", "D": "dq", "E": ""})

    def test_env_file_rejects_what_compose_would_interpolate(self):
        env = self.write(".env", "A=${B}\n")
        with self.assertRaises(ComposeError):
            read_env_file(env)

    def test_anchors_merges_and_environment_forms(self):
        compose = self.write("compose.yml", """
x-base: &base
  restart: unless-stopped
  environment: &env
    SHARED: ${A:-x}
services:
  one:
    <<: *base
    image: i
    environment:
      <<: *env
      OWN: "${A}"
      FLAG: true
      NUMBER: 5
      PASSED:
  two:
    image: i
    environment: ["LIST=${A}", "PASSED"]
    depends_on: [one]
""")
        env = self.write(".env", "A=1\nPASSED=through\n")
        model = load(compose, env)
        self.assertEqual(model.services["one"].raw["restart"], "unless-stopped")
        self.assertEqual(
            model.services["one"].environment,
            {"SHARED": "1", "OWN": "1", "FLAG": "true", "NUMBER": "5", "PASSED": "through"},
        )
        self.assertEqual(model.services["two"].environment, {"LIST": "1", "PASSED": "through"})
        self.assertEqual([service.name for service in model.start_order()], ["one", "two"])


if __name__ == "__main__":
    unittest.main()
