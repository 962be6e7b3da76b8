"""functions.X.layers: folders laid out as AWS lays out /opt, importable in both runtimes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from router.api import Router
from router.config import parse_config
from router.errors import ConfigError

CONFIG = """
functions:
  py: {handler: py_fn.handler, layers: [layers/one, layers/two]}
  cjs: {handler: cjs_fn.handler, layers: [layers/one, layers/two], runtime: nodejs20.x}
  esm: {handler: esm_fn.handler, layers: [layers/one], runtime: nodejs22.x}
"""


def _layers(root: Path) -> Path:
    site = f"python/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
    files = {
        "layers/one/python/shared.py": "WHO = 'one/python'",
        "layers/one/python/only_one.py": "WHO = 'one/python'",
        f"layers/two/{site}/shared.py": "WHO = 'two/site-packages'",
        "layers/two/python/shared.py": "WHO = 'two/python'",
        "layers/one/nodejs/node_modules/shared/index.js": "module.exports = 'one/nodejs';",
        "layers/two/nodejs/node20/node_modules/shared/index.js": "module.exports = 'two/nodejs/node20';",
        "layers/one/nodejs/node_modules/only-one/index.js": "module.exports = 'one/nodejs';",
        "py_fn.py": "import only_one, shared\n\ndef handler(event, context):\n    return [shared.WHO, only_one.WHO]\n",
        "cjs_fn.js": "exports.handler = async () => [require('shared'), require('only-one')];\n",
        "esm_fn.mjs": "import shared from 'shared';\nexport const handler = async () => [shared];\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_missing_layer_folder_is_an_error(tmp_path: Path) -> None:
    text = "functions:\n  f: {handler: f.handler, layers: [nope]}\n"
    with pytest.raises(ConfigError, match=r"triggers.yaml:2:\d+: functions.f.layers\[0\]: layer folder .*nope does"):
        parse_config(text, str(tmp_path / "triggers.yaml"), root=tmp_path)


@pytest.mark.slow
def test_layers_are_on_the_module_path_in_awss_order(tmp_path: Path) -> None:
    with Router.from_text(CONFIG, _layers(tmp_path)) as router:
        # site-packages before python/; a later layer's copy over an earlier one's
        assert router.invoke("py").result == ["two/site-packages", "one/python"]
        # nodejs/node20/node_modules before nodejs/node_modules
        assert router.invoke("cjs").result == ["two/nodejs/node20", "one/nodejs"]
        assert router.invoke("esm").result == ["one/nodejs"]  # an ES module's bare import too
